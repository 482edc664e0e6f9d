//! `sparselab calibrate`: measures the card's sustained ceilings and writes a roofline preset with
//! both the datasheet and the `[measured]` values, so `sparselab roofline --hardware F.toml`
//! predicts from what this card really does.
//!
//! Timing model (each as the median of `--iters` CUDA-event timings after `--warmup` launches):
//! - tensor: one cuBLAS bf16 GEMM `n x n x n` (fp32 accumulation), `2 n^3` FLOPs;
//! - memory: one device-to-device copy of `--copy-mib` MiB, read + write bytes;
//! - kernel: our dense attention (`kernels/cuda/attention.cu`, w4m2 and w4m1 tiles: kernel models
//!   `sparselab` and `sparselab-w4m1`) at L=16384, H=32, D=128, non-causal and causal; its efficiency is the roofline's ideal kernel time on the measured
//!   ceilings over the measured time, so `predicted_ms` reproduces it.
//!
//! Without a GPU (or without libcublas) it fails with a message that says what is missing.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::output::write_atomic;
use crate::provenance::utc_now;
use sparselab_simulators::roofline::{
    families, predict, AttentionShape, GpuPreset, KernelEfficiency, KernelSpec, Measured,
};

/// Arguments of `sparselab calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// The datasheet preset to start from (a100, h100, h200 or a TOML file).
    #[arg(long, default_value = "h100")]
    pub hardware: String,
    /// Where to write the calibrated preset; default `<hardware>-calibrated.toml`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Side of the square bf16 GEMM.
    #[arg(long, default_value_t = 8192)]
    pub gemm_size: usize,
    /// MiB copied device to device.
    #[arg(long, default_value_t = 1024)]
    pub copy_mib: usize,
    /// Tokens of the attention calibration (H=32, D=128).
    #[arg(long, default_value_t = 16384)]
    pub seq_len: usize,
    /// Untimed launches before timing.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Timed launches (at least 20).
    #[arg(long, default_value_t = 30)]
    pub iters: usize,
}

/// What one calibration measured (medians, seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurements {
    /// GEMM side.
    pub gemm_size: usize,
    /// Median GEMM time, s.
    pub gemm_s: f64,
    /// Bytes copied (one direction).
    pub copy_bytes: f64,
    /// Median copy time, s.
    pub copy_s: f64,
    /// Attention shape timed.
    pub attention: AttentionShape,
    /// Per kernel model (`sparselab` = w4m2 tiles, `sparselab-w4m1`): median non-causal and causal
    /// attention time, s.
    pub kernels: Vec<KernelTimes>,
    /// GPU name.
    pub device: String,
    /// Driver and CUDA versions.
    pub driver: String,
}

/// Median times of one attention kernel configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelTimes {
    /// Kernel model name in the roofline (`sparselab`, `sparselab-w4m1`).
    pub kernel: &'static str,
    /// Non-causal, s.
    pub full_s: f64,
    /// Causal, s.
    pub causal_s: f64,
}

/// The tile configurations calibrated, with their kernel model names.
pub const CALIBRATED_TILES: [(&str, sparselab_kernels::cuda::TileConfig); 2] = [
    ("sparselab", sparselab_kernels::cuda::TileConfig::W4M2),
    ("sparselab-w4m1", sparselab_kernels::cuda::TileConfig::W4),
];

/// Median of `samples` (milliseconds in, seconds out); errors on an empty list.
pub fn median_s(samples: &[f32]) -> Result<f64> {
    if samples.is_empty() {
        bail!("no timing samples");
    }
    let mut s: Vec<f32> = samples.to_vec();
    s.sort_by(f32::total_cmp);
    let mid = s.len() / 2;
    let ms = if s.len() % 2 == 1 {
        f64::from(s[mid])
    } else {
        (f64::from(s[mid - 1]) + f64::from(s[mid])) / 2.0
    };
    Ok(ms * 1e-3)
}

/// The calibrated preset: `base` with a `[measured]` section (matmul and copy rates, and the
/// `sparselab` kernel's efficiency against them). Pure: testable without a GPU.
pub fn calibrated_preset(base: &GpuPreset, m: &Measurements, date: &str) -> Result<GpuPreset> {
    let mut times = vec![("GEMM time".to_string(), m.gemm_s), ("copy time".to_string(), m.copy_s)];
    for k in &m.kernels {
        times.push((format!("{} attention time", k.kernel), k.full_s));
        times.push((format!("{} causal attention time", k.kernel), k.causal_s));
    }
    for (what, v) in times {
        if !(v.is_finite() && v > 0.0) {
            bail!("{what} = {v} s: expected a positive time");
        }
    }
    let n = m.gemm_size as f64;
    let mut preset = base.clone();
    preset.name = format!("{}-calibrated", base.name);
    preset.description = format!("{} measured on {} ({date})", base.description, m.device);
    let mut measured = Measured {
        tensor_flops: 2.0 * n * n * n / m.gemm_s,
        hbm_bandwidth: 2.0 * m.copy_bytes / m.copy_s,
        date: date.to_string(),
        device: m.device.clone(),
        driver: m.driver.clone(),
        kernels: BTreeMap::new(),
    };
    // The roofline's compute time at efficiency 1 on the measured ceilings, over the measured time
    // (a kernel measured faster than its memory time cannot be explained by efficiency: then 1).
    let ideal = KernelEfficiency {
        tensor_efficiency: 1.0,
        causal_tensor_efficiency: None,
        memory_efficiency: Some(1.0),
    };
    for k in &m.kernels {
        measured.kernels.insert(k.kernel.to_string(), ideal);
    }
    preset.measured = Some(measured.clone());
    let eff = |model: f64, real: f64| (model / real).clamp(1e-3, 1.0);
    for k in &m.kernels {
        let kernel = KernelSpec::by_name(k.kernel)?;
        let model_s = |causal: bool| -> Result<f64> {
            let shape = AttentionShape { causal, ..m.attention };
            let work = families::dense(shape, kernel.tile)?;
            let k = predict(&preset, &work, &kernel)?.predicted_kernel;
            // Only the compute time scales with the efficiency: solve max(C / e, M) x tail = measured.
            Ok(k.compute_s * k.tail_factor)
        };
        measured.kernels.insert(
            k.kernel.to_string(),
            KernelEfficiency {
                tensor_efficiency: eff(model_s(false)?, k.full_s),
                causal_tensor_efficiency: Some(eff(model_s(true)?, k.causal_s)),
                memory_efficiency: None,
            },
        );
    }
    preset.measured = Some(measured);
    preset.validate("calibration")?;
    Ok(preset)
}

/// The TOML text written: a header saying what was measured, then the preset.
pub fn preset_file(preset: &GpuPreset, m: &Measurements) -> Result<String> {
    let body = preset.to_toml_string()?;
    Ok(format!(
        "# Written by `sparselab calibrate` on {}: datasheet values of the base preset plus [measured]\n\
         # (cuBLAS bf16 GEMM {n}^3, device-to-device copy of {:.0} MiB, sparselab dense attention\n\
         # L={} H={} D={}; medians of CUDA-event timings). Use: sparselab roofline --hardware <this file>\n{body}",
        m.device,
        m.copy_bytes / (1 << 20) as f64,
        m.attention.seq_len,
        m.attention.heads,
        m.attention.head_dim,
        n = m.gemm_size,
    ))
}

/// Runs the command: measures on GPU 0, derives the preset, writes it atomically.
pub fn run(args: &CalibrateArgs) -> Result<()> {
    if args.iters < 20 {
        bail!(
            "--iters {}: at least 20 timings are needed for a stable median",
            args.iters
        );
    }
    if args.gemm_size == 0 || args.copy_mib == 0 || args.seq_len == 0 {
        bail!("--gemm-size, --copy-mib and --seq-len must be positive");
    }
    let base = GpuPreset::load(&args.hardware).context("loading the base preset")?;
    let m = gpu::measure(args)?;
    let preset = calibrated_preset(&base, &m, &utc_now())?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-calibrated.toml", base.name)));
    write_atomic(&out, preset_file(&preset, &m)?.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    let measured = preset.measured.as_ref().ok_or_else(|| anyhow!("no measured section"))?;
    println!(
        "{}: bf16 GEMM {:.0} TFLOP/s ({:.0}% of {:.0}), copy {:.2} TB/s ({:.0}% of {:.2})",
        m.device,
        measured.tensor_flops / 1e12,
        100.0 * measured.tensor_flops / base.tensor_flops,
        base.tensor_flops / 1e12,
        measured.hbm_bandwidth / 1e12,
        100.0 * measured.hbm_bandwidth / base.hbm_bandwidth,
        base.hbm_bandwidth / 1e12
    );
    let fl = |causal: bool| AttentionShape { causal, ..m.attention }.conventional_dense_flops();
    for k in &m.kernels {
        let eff = measured.kernels.get(k.kernel).copied();
        println!(
            "{} dense attention L={}: {:.3} ms ({:.0} TFLOP/s), causal {:.3} ms ({:.0} TFLOP/s); efficiency {:.3} / {:.3} of the measured ceiling",
            k.kernel,
            m.attention.seq_len,
            k.full_s * 1e3,
            fl(false) / k.full_s / 1e12,
            k.causal_s * 1e3,
            fl(true) / k.causal_s / 1e12,
            eff.map_or(0.0, |e| e.tensor_efficiency),
            eff.and_then(|e| e.causal_tensor_efficiency).unwrap_or(0.0)
        );
    }
    println!("wrote {}", out.display());
    Ok(())
}

/// The measurements on the device (the only GPU code of this command).
mod gpu {
    use super::{median_s, CalibrateArgs, KernelTimes, Measurements, CALIBRATED_TILES};
    use anyhow::{anyhow, bail, Context, Result};
    use cudarc::cublas::{result as blas, sys as blas_sys, CudaBlas};
    use cudarc::driver::{sys, DevicePtr, DevicePtrMut};
    use sparselab_kernels::cuda::attention::to_bf16_bits;
    use sparselab_kernels::cuda::{AttentionParams, AttentionRun, Gpu, TileConfig};
    use sparselab_simulators::roofline::AttentionShape;
    use sparselab_workloads::SeededRng;

    /// Times `iters` calls of `f` (after `warmup`), each between two CUDA events; milliseconds.
    fn time_events(gpu: &Gpu, warmup: usize, iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f32>> {
        for _ in 0..warmup {
            f()?;
        }
        let (ctx, stream) = (gpu.context().clone(), gpu.stream().clone());
        let flags = Some(sys::CUevent_flags::CU_EVENT_DEFAULT);
        let mut out = Vec::with_capacity(iters);
        for _ in 0..iters {
            let start = ctx.new_event(flags).map_err(|e| anyhow!("cuEventCreate: {e:?}"))?;
            let end = ctx.new_event(flags).map_err(|e| anyhow!("cuEventCreate: {e:?}"))?;
            start.record(&stream).map_err(|e| anyhow!("cuEventRecord: {e:?}"))?;
            f()?;
            end.record(&stream).map_err(|e| anyhow!("cuEventRecord: {e:?}"))?;
            out.push(
                start
                    .elapsed_ms(&end)
                    .map_err(|e| anyhow!("cuEventElapsedTime: {e:?}"))?,
            );
        }
        Ok(out)
    }

    fn random_bf16(rng: &mut SeededRng, n: usize) -> Vec<u16> {
        let values: Vec<f32> = (0..n).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
        to_bf16_bits(&values)
    }

    /// Median seconds of one `n x n x n` bf16 GEMM through cuBLAS.
    fn gemm(gpu: &Gpu, n: usize, warmup: usize, iters: usize) -> Result<f64> {
        // SAFETY: only tries to dlopen libcublas by its usual names.
        if !unsafe { blas_sys::is_culib_present() } {
            bail!(
                "libcublas was not found: install the CUDA toolkit's cuBLAS, or pip's nvidia-cublas, and make it findable, \
                 e.g. export LD_LIBRARY_PATH=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__file__))')/cu13/lib:$LD_LIBRARY_PATH"
            );
        }
        let stream = gpu.stream().clone();
        let blas_handle = CudaBlas::new(stream.clone()).map_err(|e| anyhow!("cublasCreate: {e:?}"))?;
        let mut rng = SeededRng::new(0, 7);
        let a = stream
            .clone_htod(&random_bf16(&mut rng, n * n))
            .map_err(|e| anyhow!("upload: {e:?}"))?;
        let b = stream
            .clone_htod(&random_bf16(&mut rng, n * n))
            .map_err(|e| anyhow!("upload: {e:?}"))?;
        let mut c = stream
            .alloc_zeros::<u16>(n * n)
            .map_err(|e| anyhow!("cuMemAlloc: {e:?}"))?;
        let side = i32::try_from(n).context("--gemm-size does not fit cuBLAS's int")?;
        let (alpha, beta) = (1.0f32, 0.0f32);
        let samples = time_events(gpu, warmup, iters, || {
            let (pa, _ra) = a.device_ptr(&stream);
            let (pb, _rb) = b.device_ptr(&stream);
            let (pc, _rc) = c.device_ptr_mut(&stream);
            // SAFETY: a, b, c hold n*n bf16 elements each (column-major, leading dimension n);
            // alpha and beta are f32 as CUBLAS_COMPUTE_32F requires; the handle runs on `stream`.
            unsafe {
                blas::gemm_ex(
                    *blas_handle.handle(),
                    blas_sys::cublasOperation_t::CUBLAS_OP_N,
                    blas_sys::cublasOperation_t::CUBLAS_OP_N,
                    side,
                    side,
                    side,
                    (&alpha) as *const f32 as *const _,
                    pa as *const _,
                    blas_sys::cudaDataType_t::CUDA_R_16BF,
                    side,
                    pb as *const _,
                    blas_sys::cudaDataType_t::CUDA_R_16BF,
                    side,
                    (&beta) as *const f32 as *const _,
                    pc as *mut _,
                    blas_sys::cudaDataType_t::CUDA_R_16BF,
                    side,
                    blas_sys::cublasComputeType_t::CUBLAS_COMPUTE_32F,
                    blas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
                )
            }
            .map_err(|e| anyhow!("cublasGemmEx: {e:?}"))
        })?;
        median_s(&samples)
    }

    /// Median seconds of one device-to-device copy of `bytes`.
    fn copy(gpu: &Gpu, bytes: usize, warmup: usize, iters: usize) -> Result<f64> {
        let stream = gpu.stream().clone();
        let src = stream
            .alloc_zeros::<u8>(bytes)
            .map_err(|e| anyhow!("cuMemAlloc: {e:?}"))?;
        let mut dst = stream
            .alloc_zeros::<u8>(bytes)
            .map_err(|e| anyhow!("cuMemAlloc: {e:?}"))?;
        let samples = time_events(gpu, warmup, iters, || {
            stream
                .memcpy_dtod(&src, &mut dst)
                .map_err(|e| anyhow!("cuMemcpyDtoD: {e:?}"))
        })?;
        median_s(&samples)
    }

    /// Median seconds of our dense attention kernel with `tile`, (non-causal, causal).
    fn dense_attention(
        gpu: &Gpu,
        shape: AttentionShape,
        tile: TileConfig,
        warmup: usize,
        iters: usize,
    ) -> Result<(f64, f64)> {
        let (h, l, d) = (shape.heads as usize, shape.seq_len as usize, shape.head_dim as usize);
        let mut rng = SeededRng::new(0, 11);
        let (q, k, v) = (
            random_bf16(&mut rng, h * l * d),
            random_bf16(&mut rng, h * l * d),
            random_bf16(&mut rng, h * l * d),
        );
        let time = |causal: bool| -> Result<f64> {
            let params = AttentionParams {
                heads: h,
                kv_heads: h,
                seq_len: l,
                head_dim: d,
                causal,
                tile,
            };
            let mut run = AttentionRun::new(gpu, params, &q, &k, &v, None)?;
            median_s(&run.time_ms(warmup, iters)?)
        };
        Ok((time(false)?, time(true)?))
    }

    /// Everything `calibrate` measures, on GPU 0.
    pub fn measure(args: &CalibrateArgs) -> Result<Measurements> {
        let gpu = Gpu::new(0).context("sparselab calibrate needs a CUDA GPU")?;
        let dv = gpu.driver_version();
        let attention = AttentionShape {
            seq_len: args.seq_len as u64,
            heads: 32,
            kv_heads: 32,
            head_dim: 128,
            causal: false,
            dtype_bytes: 2,
        };
        let copy_bytes = args.copy_mib << 20;
        let gemm_s = gemm(&gpu, args.gemm_size, args.warmup, args.iters)?;
        let copy_s = copy(&gpu, copy_bytes, args.warmup, args.iters)?;
        let mut kernels = Vec::new();
        for (kernel, tile) in CALIBRATED_TILES {
            let (full_s, causal_s) = dense_attention(&gpu, attention, tile, args.warmup, args.iters)?;
            kernels.push(KernelTimes {
                kernel,
                full_s,
                causal_s,
            });
        }
        Ok(Measurements {
            gemm_size: args.gemm_size,
            gemm_s,
            copy_bytes: copy_bytes as f64,
            copy_s,
            attention,
            kernels,
            device: gpu.name().to_string(),
            driver: format!("driver supports CUDA {}.{}", dv / 1000, dv % 1000 / 10),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The H100 figures of REFERENCE.md §1 and results/gpu-attention-h100-2026-11-23.
    fn h100_measurements() -> Measurements {
        let attention = AttentionShape {
            seq_len: 16384,
            heads: 32,
            kv_heads: 32,
            head_dim: 128,
            causal: false,
            dtype_bytes: 2,
        };
        let flops = attention.conventional_dense_flops();
        Measurements {
            gemm_size: 8192,
            gemm_s: 2.0 * 8192f64.powi(3) / 767e12,
            copy_bytes: (1u64 << 30) as f64,
            copy_s: 2.0 * (1u64 << 30) as f64 / 3.0e12,
            attention,
            kernels: vec![
                KernelTimes {
                    kernel: "sparselab",
                    full_s: flops / 309e12,
                    causal_s: flops / 2.0 / 297e12,
                },
                KernelTimes {
                    kernel: "sparselab-w4m1",
                    full_s: flops / 253e12,
                    causal_s: flops / 2.0 / 244e12,
                },
            ],
            device: "NVIDIA H100 80GB HBM3".into(),
            driver: "driver supports CUDA 13.0".into(),
        }
    }

    #[test]
    fn median_of_samples() {
        assert_eq!(median_s(&[3.0, 1.0, 2.0]).unwrap(), 2e-3);
        assert_eq!(median_s(&[4.0, 1.0, 2.0, 3.0]).unwrap(), 2.5e-3);
        assert!(median_s(&[]).is_err());
    }

    #[test]
    fn calibrated_preset_reproduces_the_measured_kernel_time() {
        let base = GpuPreset::load("h100").unwrap();
        let m = h100_measurements();
        let p = calibrated_preset(&base, &m, "2026-11-23T00:00:00Z").unwrap();
        let measured = p.measured.as_ref().unwrap();
        assert!((measured.tensor_flops / 767e12 - 1.0).abs() < 1e-9);
        assert!((measured.hbm_bandwidth / 3.0e12 - 1.0).abs() < 1e-9);
        assert_eq!(p.tensor_flops, 989e12, "the datasheet value stays");
        // The written file loads back, and the roofline then predicts the measured time.
        let text = preset_file(&p, &m).unwrap();
        let back = GpuPreset::from_toml_str(&text, "h100-calibrated.toml").unwrap();
        for k in &m.kernels {
            let kernel = KernelSpec::by_name(k.kernel).unwrap();
            for (causal, real) in [(false, k.full_s), (true, k.causal_s)] {
                let work = families::dense(AttentionShape { causal, ..m.attention }, kernel.tile).unwrap();
                let pred = predict(&back, &work, &kernel).unwrap();
                assert_eq!(pred.efficiency_source, "measured");
                let err = pred.predicted_kernel.time_s / real - 1.0;
                assert!(err.abs() < 1e-6, "{} causal {causal}: {err}", k.kernel);
            }
        }
    }

    #[test]
    fn bad_measurements_are_rejected() {
        let mut m = h100_measurements();
        m.copy_s = 0.0;
        let e = calibrated_preset(&GpuPreset::load("h100").unwrap(), &m, "now")
            .unwrap_err()
            .to_string();
        assert!(e.contains("copy time"), "{e}");
    }
}
