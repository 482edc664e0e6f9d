//! `sparselab calibrate`: measures the card's sustained ceilings and writes a roofline preset with
//! both the datasheet and the `[measured]` values, so `sparselab roofline --hardware F.toml`
//! predicts from what this card really does.
//!
//! Timing model (each as the median of `--iters` CUDA-event timings after `--warmup` launches):
//! - tensor: one cuBLAS bf16 GEMM `n x n x n` (fp32 accumulation), `2 n^3` FLOPs;
//! - memory: one device-to-device copy of `--copy-mib` MiB, read + write bytes;
//! - kernel: our dense attention (`kernels/cuda/attention.cu`, w4m2 and w4m1 tiles: kernel models
//!   `sparselab` and `sparselab-w4m1`) at L=16384 (and, with `--short-seq-len 4096`, at a short length), H=32,
//!   D=128, non-causal and causal.
//!
//! Per kernel model and causality, two unknowns from the two lengths
//! ([`sparselab_simulators::roofline::calibration`]): the tensor efficiency `e` (from the long run)
//! and the per-block overhead `o` (`block_overhead_tiles`: the fixed cost of one thread block in
//! 64-key tile-times, from the short run), alternated until `predicted_ms` reproduces both:
//! `time(L) = C(L) / e x (sum_b (t_b + o)) / T(L) x tail(L, o)`.
//!
//! Without a GPU (or without libcublas) it fails with a message that says what is missing.
//! `--from-bench bench.csv` needs no GPU: it re-fits the kernels of a calibrated `--hardware` file
//! from the dense rows of a `sparselab bench` CSV at `--seq-len` and `--short-seq-len` (the
//! measured GEMM and copy ceilings stay), e.g.
//! `sparselab calibrate --hardware results/roofline-h100-2026-11-23/h100-calibrated.toml
//! --from-bench results/roofline-h100-2026-11-23/bench.csv --out h100-overhead.toml`.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::roofline::against::{dense_timings, read_bench};
use crate::output::write_atomic;
use crate::provenance::utc_now;
use sparselab_simulators::roofline::{
    fit_dense, AttentionShape, DenseFit, DenseTiming, GpuPreset, KernelEfficiency, KernelSpec, Measured,
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
    /// Tokens of the attention calibration (H=32, D=128): the long run, which sets the efficiency.
    #[arg(long, default_value_t = 16384)]
    pub seq_len: usize,
    /// Tokens of a short dense run that fits the per-block overhead of the dense kernel (e.g. 4096).
    /// Default 0: keep the kernel models' constant overhead, which predicts the sparse kernels better
    /// (on the H100, 42 of 44 bench rows within 15% against 39 of 44 with the dense-fitted overhead:
    /// the block-sparse kernel's per-block cost is not the dense kernel's; results/roofline-h100-2026-11-23).
    #[arg(long, default_value_t = 0)]
    pub short_seq_len: usize,
    /// No GPU: re-fit the kernels of the calibrated `--hardware` file from the dense rows of this
    /// `sparselab bench` CSV at `--seq-len` and `--short-seq-len`.
    #[arg(long)]
    pub from_bench: Option<PathBuf>,
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
    /// Attention shape timed (the long run).
    pub attention: AttentionShape,
    /// Tokens of the short run, when one was timed.
    pub short_seq_len: Option<u64>,
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
    /// Non-causal at the short length, s.
    pub short_full_s: Option<f64>,
    /// Causal at the short length, s.
    pub short_causal_s: Option<f64>,
}

/// One fit of [`calibrated_preset`] or [`refit_from_bench`], for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Kernel model.
    pub kernel: &'static str,
    /// The long run.
    pub long: DenseTiming,
    /// The short run, if any.
    pub short: Option<DenseTiming>,
    /// What was solved.
    pub fit: DenseFit,
}

/// The tile configurations calibrated, with their kernel model names (the wgmma tiles only on
/// a GPU that runs them, see [`calibrated_tiles`]).
pub const CALIBRATED_TILES: [(&str, sparselab_kernels::cuda::TileConfig); 6] = [
    ("sparselab", sparselab_kernels::cuda::TileConfig::W4M2),
    ("sparselab-w4m1", sparselab_kernels::cuda::TileConfig::W4),
    ("sparselab-g1", sparselab_kernels::cuda::TileConfig::G1),
    ("sparselab-g2", sparselab_kernels::cuda::TileConfig::G2),
    ("sparselab-g2k", sparselab_kernels::cuda::TileConfig::G2K),
    ("sparselab-g2w", sparselab_kernels::cuda::TileConfig::G2W),
];

/// The entries of [`CALIBRATED_TILES`] that run on a GPU compiled for `arch`.
pub fn calibrated_tiles(arch: &str) -> Vec<(&'static str, sparselab_kernels::cuda::TileConfig)> {
    CALIBRATED_TILES.into_iter().filter(|(_, t)| t.runs_on(arch)).collect()
}

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

/// The calibrated preset: `base` with a `[measured]` section (matmul and copy rates, and each
/// kernel model's efficiency and per-block overhead against them), and what each fit solved.
/// Pure: testable without a GPU.
pub fn calibrated_preset(base: &GpuPreset, m: &Measurements, date: &str) -> Result<(GpuPreset, Vec<FitReport>)> {
    let mut times = vec![("GEMM time".to_string(), m.gemm_s), ("copy time".to_string(), m.copy_s)];
    for k in &m.kernels {
        times.push((format!("{} attention time", k.kernel), k.full_s));
        times.push((format!("{} causal attention time", k.kernel), k.causal_s));
        for (what, v) in [("short", k.short_full_s), ("short causal", k.short_causal_s)] {
            if let Some(v) = v {
                times.push((format!("{} {what} attention time", k.kernel), v));
            }
        }
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
    preset.measured = Some(Measured {
        tensor_flops: 2.0 * n * n * n / m.gemm_s,
        hbm_bandwidth: 2.0 * m.copy_bytes / m.copy_s,
        date: date.to_string(),
        device: m.device.clone(),
        driver: m.driver.clone(),
        kernels: BTreeMap::new(),
    });
    let mut reports = Vec::new();
    let mut kernels = BTreeMap::new();
    for k in &m.kernels {
        let kernel = KernelSpec::by_name(k.kernel)?;
        let timing = |causal: bool, long_s: f64, short_s: Option<f64>| {
            let shape = AttentionShape { causal, ..m.attention };
            let short = m.short_seq_len.zip(short_s).map(|(l, time_s)| DenseTiming {
                shape: AttentionShape { seq_len: l, ..shape },
                time_s,
            });
            (DenseTiming { shape, time_s: long_s }, short)
        };
        let runs = [
            timing(false, k.full_s, k.short_full_s),
            timing(true, k.causal_s, k.short_causal_s),
        ];
        let mut entry = KernelEfficiency {
            tensor_efficiency: 1.0,
            causal_tensor_efficiency: None,
            memory_efficiency: None,
            block_overhead_tiles: None,
            causal_block_overhead_tiles: None,
        };
        reports.extend(refit_entry(&preset, &kernel, &mut entry, &runs)?);
        kernels.insert(k.kernel.to_string(), entry);
    }
    if let Some(measured) = preset.measured.as_mut() {
        measured.kernels = kernels;
    }
    preset.validate("calibration")?;
    Ok((preset, reports))
}

/// Fits `kernel` on each (long, short) pair of `runs` (their causality picks the fields) and writes
/// the results into `entry`; fields of a causality not in `runs` keep their predictions.
fn refit_entry(
    preset: &GpuPreset,
    kernel: &KernelSpec,
    entry: &mut KernelEfficiency,
    runs: &[(DenseTiming, Option<DenseTiming>)],
) -> Result<Vec<FitReport>> {
    // The causal fields fall back to the non-causal ones: pin them before the latter change.
    let causal_overhead = preset
        .efficiency(kernel.name, true)
        .block_overhead_tiles
        .unwrap_or(kernel.block_overhead_tiles);
    entry.causal_tensor_efficiency.get_or_insert(entry.tensor_efficiency);
    let mut reports = Vec::new();
    for (long, short) in runs {
        let fit = fit_dense(preset, kernel, long, short.as_ref())
            .with_context(|| format!("fitting {} (causal {})", kernel.name, long.shape.causal))?;
        if long.shape.causal {
            entry.causal_tensor_efficiency = Some(fit.tensor_efficiency);
            entry.causal_block_overhead_tiles = fit.block_overhead_tiles.or(entry.causal_block_overhead_tiles);
        } else {
            entry.tensor_efficiency = fit.tensor_efficiency;
            entry.block_overhead_tiles = fit.block_overhead_tiles.or(entry.block_overhead_tiles);
        }
        reports.push(FitReport {
            kernel: kernel.name,
            long: *long,
            short: *short,
            fit,
        });
    }
    if entry.block_overhead_tiles.is_some() && entry.causal_block_overhead_tiles.is_none() {
        entry.causal_block_overhead_tiles = Some(causal_overhead);
    }
    Ok(reports)
}

/// `--from-bench`: `preset` (calibrated) with the kernels of `lines`' dense rows re-fitted: per
/// kernel model and causality, the row at `long_len` sets the efficiency and the row at
/// `short_len` (if present) the per-block overhead. The measured ceilings stay.
pub fn refit_from_bench(
    preset: &GpuPreset,
    lines: &[super::roofline::against::BenchLine],
    long_len: u64,
    short_len: u64,
) -> Result<(GpuPreset, Vec<FitReport>)> {
    let Some(measured) = &preset.measured else {
        bail!(
            "--from-bench re-fits a calibrated preset: --hardware {} has no [measured] section (write one with sparselab calibrate on the GPU)",
            preset.name
        );
    };
    let dense = dense_timings(lines)?;
    let mut kernels = measured.kernels.clone();
    let mut reports = Vec::new();
    let mut names: Vec<&'static str> = dense.iter().map(|(k, _)| k.name).collect();
    names.dedup();
    for name in names {
        let kernel = KernelSpec::by_name(name)?;
        let find = |causal: bool, l: u64| {
            dense
                .iter()
                .find(|(k, t)| k.name == name && t.shape.causal == causal && t.shape.seq_len == l)
                .map(|(_, t)| *t)
        };
        let runs: Vec<(DenseTiming, Option<DenseTiming>)> = [false, true]
            .into_iter()
            .filter_map(|causal| find(causal, long_len).map(|long| (long, find(causal, short_len))))
            .collect();
        if runs.is_empty() {
            continue;
        }
        let mut entry = kernels.get(name).copied().unwrap_or_else(|| {
            let (full, causal) = (preset.efficiency(name, false), preset.efficiency(name, true));
            KernelEfficiency {
                tensor_efficiency: full.tensor,
                causal_tensor_efficiency: Some(causal.tensor),
                memory_efficiency: None,
                block_overhead_tiles: full.block_overhead_tiles,
                causal_block_overhead_tiles: causal.block_overhead_tiles,
            }
        });
        reports.extend(refit_entry(preset, &kernel, &mut entry, &runs)?);
        kernels.insert(name.to_string(), entry);
    }
    if reports.is_empty() {
        bail!(
            "the bench CSV has no dense row at --seq-len {long_len}: nothing to fit (dense rows give the efficiency)"
        );
    }
    let mut out = preset.clone();
    if let Some(m) = out.measured.as_mut() {
        m.kernels = kernels;
    }
    out.validate("re-fitted preset")?;
    Ok((out, reports))
}

/// One line per fit: lengths, times, efficiency and overhead.
fn print_fits(reports: &[FitReport]) {
    for r in reports {
        let short = match (&r.short, r.fit.block_overhead_tiles) {
            (Some(s), Some(o)) => format!(
                ", L={} {:.3} ms: block overhead {o:.2} tiles (short run reproduced to {:+.2}%)",
                s.shape.seq_len,
                s.time_s * 1e3,
                100.0 * r.fit.short_error
            ),
            _ => ", no short run: block overhead stays the model's constant".to_string(),
        };
        println!(
            "{} {}: L={} {:.3} ms: efficiency {:.3} of the measured ceiling{short}",
            r.kernel,
            if r.long.shape.causal { "causal" } else { "non-causal" },
            r.long.shape.seq_len,
            r.long.time_s * 1e3,
            r.fit.tensor_efficiency
        );
    }
}

/// The TOML text written: a header saying what was measured, then the preset.
pub fn preset_file(preset: &GpuPreset, m: &Measurements) -> Result<String> {
    let body = preset.to_toml_string()?;
    let short = m.short_seq_len.map_or(String::new(), |l| format!(" and L={l}"));
    Ok(format!(
        "# Written by `sparselab calibrate` on {}: datasheet values of the base preset plus [measured]\n\
         # (cuBLAS bf16 GEMM {n}^3, device-to-device copy of {:.0} MiB, sparselab dense attention\n\
         # L={}{short} H={} D={}; medians of CUDA-event timings). Use: sparselab roofline --hardware <this file>\n{body}",
        m.device,
        m.copy_bytes / (1 << 20) as f64,
        m.attention.seq_len,
        m.attention.heads,
        m.attention.head_dim,
        n = m.gemm_size,
    ))
}

/// Checks the lengths: positive, the short one (if any) below the long one.
fn check_lengths(args: &CalibrateArgs) -> Result<()> {
    if args.seq_len == 0 {
        bail!("--seq-len must be positive");
    }
    if args.short_seq_len >= args.seq_len {
        bail!(
            "--short-seq-len {} must be below --seq-len {} (or 0 to skip the overhead fit)",
            args.short_seq_len,
            args.seq_len
        );
    }
    Ok(())
}

/// `--from-bench`: re-fits the calibrated `--hardware` file from a bench CSV, no GPU.
fn run_from_bench(args: &CalibrateArgs, bench_csv: &std::path::Path) -> Result<()> {
    let base = GpuPreset::load(&args.hardware).context("loading the calibrated preset")?;
    let lines = read_bench(bench_csv)?;
    let (preset, reports) = refit_from_bench(&base, &lines, args.seq_len as u64, args.short_seq_len as u64)
        .with_context(|| format!("re-fitting from {}", bench_csv.display()))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-refit.toml", base.name)));
    let text = format!(
        "# Re-fitted by `sparselab calibrate --from-bench {}` (no GPU): the kernels of the dense rows at\n\
         # L={} and L={} solved again (efficiency, per-block overhead); everything else from {}.\n{}",
        bench_csv.display(),
        args.seq_len,
        args.short_seq_len,
        args.hardware,
        preset.to_toml_string()?
    );
    write_atomic(&out, text.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    print_fits(&reports);
    println!("wrote {}", out.display());
    Ok(())
}

/// Runs the command: measures on GPU 0, derives the preset, writes it atomically.
pub fn run(args: &CalibrateArgs) -> Result<()> {
    check_lengths(args)?;
    if let Some(bench_csv) = &args.from_bench {
        return run_from_bench(args, bench_csv);
    }
    if args.iters < 20 {
        bail!(
            "--iters {}: at least 20 timings are needed for a stable median",
            args.iters
        );
    }
    if args.gemm_size == 0 || args.copy_mib == 0 {
        bail!("--gemm-size and --copy-mib must be positive");
    }
    let base = GpuPreset::load(&args.hardware).context("loading the base preset")?;
    let m = gpu::measure(args)?;
    let (preset, reports) = calibrated_preset(&base, &m, &utc_now())?;
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
        println!(
            "{} dense attention L={}: {:.3} ms ({:.0} TFLOP/s), causal {:.3} ms ({:.0} TFLOP/s)",
            k.kernel,
            m.attention.seq_len,
            k.full_s * 1e3,
            fl(false) / k.full_s / 1e12,
            k.causal_s * 1e3,
            fl(true) / k.causal_s / 1e12,
        );
    }
    print_fits(&reports);
    println!("wrote {}", out.display());
    Ok(())
}

/// The measurements on the device (the only GPU code of this command).
mod gpu {
    use super::{calibrated_tiles, median_s, CalibrateArgs, KernelTimes, Measurements};
    use anyhow::{anyhow, bail, Context, Result};
    use cudarc::cublas::{result as blas, sys as blas_sys, CudaBlas};
    use cudarc::driver::{sys, DevicePtr, DevicePtrMut};
    use sparselab_kernels::cuda::{AttentionParams, AttentionRun, ElemType, Gpu, TileConfig};
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
        (0..n)
            .map(|_| ElemType::Bf16.bits_of((rng.uniform() * 2.0 - 1.0) as f32))
            .collect()
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
                elem: ElemType::Bf16,
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
        // The short run (the per-block overhead) only when asked for (--short-seq-len 0 skips it).
        let short_seq_len = (args.short_seq_len > 0).then_some(args.short_seq_len as u64);
        for (kernel, tile) in calibrated_tiles(&gpu.arch()) {
            let (full_s, causal_s) = dense_attention(&gpu, attention, tile, args.warmup, args.iters)?;
            let short = match short_seq_len {
                Some(l) => {
                    let shape = AttentionShape {
                        seq_len: l,
                        ..attention
                    };
                    Some(dense_attention(&gpu, shape, tile, args.warmup, args.iters)?)
                }
                None => None,
            };
            kernels.push(KernelTimes {
                kernel,
                full_s,
                causal_s,
                short_full_s: short.map(|s| s.0),
                short_causal_s: short.map(|s| s.1),
            });
        }
        Ok(Measurements {
            gemm_size: args.gemm_size,
            gemm_s,
            copy_bytes: copy_bytes as f64,
            copy_s,
            attention,
            short_seq_len,
            kernels,
            device: gpu.name().to_string(),
            driver: format!("driver supports CUDA {}.{}", dv / 1000, dv % 1000 / 10),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::roofline::against::compare;
    use crate::provenance::Provenance;
    use sparselab_simulators::roofline::{families, predict};
    use std::path::Path;

    /// The H100 figures of REFERENCE.md §1 and results/gpu-attention-h100-2026-11-23 (16384), and
    /// at 4096 the causal w4m2 time of results/roofline-h100-2026-11-23/bench.csv; the other short
    /// times are made up (~270 and ~225 TFLOP/s non-causal, w4m1 causal 0.85 ms), slower than the
    /// model with no overhead so that each fit has an overhead to find.
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
        let short_flops = flops / 16.0;
        Measurements {
            gemm_size: 8192,
            gemm_s: 2.0 * 8192f64.powi(3) / 767e12,
            copy_bytes: (1u64 << 30) as f64,
            copy_s: 2.0 * (1u64 << 30) as f64 / 3.0e12,
            attention,
            short_seq_len: Some(4096),
            kernels: vec![
                KernelTimes {
                    kernel: "sparselab",
                    full_s: flops / 309e12,
                    causal_s: flops / 2.0 / 297e12,
                    short_full_s: Some(short_flops / 270e12),
                    short_causal_s: Some(0.595e-3),
                },
                KernelTimes {
                    kernel: "sparselab-w4m1",
                    full_s: flops / 253e12,
                    causal_s: flops / 2.0 / 244e12,
                    short_full_s: Some(short_flops / 225e12),
                    short_causal_s: Some(0.85e-3),
                },
            ],
            device: "NVIDIA H100 80GB HBM3".into(),
            driver: "driver supports CUDA 13.0".into(),
        }
    }

    /// Relative error of the prediction of dense attention on `shape` against `real` seconds.
    fn dense_error(preset: &GpuPreset, kernel: &KernelSpec, shape: AttentionShape, real: f64) -> f64 {
        let work = families::dense(shape, kernel.tile).unwrap();
        let pred = predict(preset, &work, kernel).unwrap();
        assert_eq!(pred.efficiency_source, "measured");
        pred.predicted_kernel.time_s / real - 1.0
    }

    #[test]
    fn median_of_samples() {
        assert_eq!(median_s(&[3.0, 1.0, 2.0]).unwrap(), 2e-3);
        assert_eq!(median_s(&[4.0, 1.0, 2.0, 3.0]).unwrap(), 2.5e-3);
        assert!(median_s(&[]).is_err());
    }

    #[test]
    fn calibrated_preset_reproduces_both_dense_lengths() {
        let base = GpuPreset::load("h100").unwrap();
        let m = h100_measurements();
        let (p, reports) = calibrated_preset(&base, &m, "2026-11-23T00:00:00Z").unwrap();
        assert_eq!(reports.len(), 4, "two kernels x (non-causal, causal)");
        let measured = p.measured.as_ref().unwrap();
        assert!((measured.tensor_flops / 767e12 - 1.0).abs() < 1e-9);
        assert!((measured.hbm_bandwidth / 3.0e12 - 1.0).abs() < 1e-9);
        assert_eq!(p.tensor_flops, 989e12, "the datasheet value stays");
        // The written file loads back, and the roofline then predicts the measured times at both
        // lengths with a positive overhead per block from the file.
        let text = preset_file(&p, &m).unwrap();
        assert!(text.contains("L=16384 and L=4096"), "{text}");
        let back = GpuPreset::from_toml_str(&text, "h100-calibrated.toml").unwrap();
        for k in &m.kernels {
            let kernel = KernelSpec::by_name(k.kernel).unwrap();
            let entry = back.measured.as_ref().unwrap().kernels[k.kernel];
            for (causal, long, short) in [
                (false, k.full_s, k.short_full_s.unwrap()),
                (true, k.causal_s, k.short_causal_s.unwrap()),
            ] {
                let o = entry.block_overhead(causal).unwrap();
                assert!(o > 0.0 && o < 100.0, "{} causal {causal}: {o}", k.kernel);
                let shape = AttentionShape { causal, ..m.attention };
                let err = dense_error(&back, &kernel, shape, long);
                assert!(err.abs() < 1e-6, "{} causal {causal} long: {err}", k.kernel);
                let err = dense_error(&back, &kernel, AttentionShape { seq_len: 4096, ..shape }, short);
                assert!(err.abs() < 1e-6, "{} causal {causal} short: {err}", k.kernel);
            }
        }
    }

    #[test]
    fn without_a_short_run_the_overhead_stays_the_constant() {
        let mut m = h100_measurements();
        m.short_seq_len = None;
        let (p, reports) = calibrated_preset(&GpuPreset::load("h100").unwrap(), &m, "now").unwrap();
        assert!(reports.iter().all(|r| r.fit.block_overhead_tiles.is_none()));
        let k = &m.kernels[0];
        let kernel = KernelSpec::by_name(k.kernel).unwrap();
        let entry = p.measured.as_ref().unwrap().kernels[k.kernel];
        assert_eq!(entry.block_overhead(true), None);
        let err = dense_error(
            &p,
            &kernel,
            AttentionShape {
                causal: true,
                ..m.attention
            },
            k.causal_s,
        );
        assert!(err.abs() < 1e-6, "{err}");
    }

    #[test]
    fn bad_measurements_are_rejected() {
        let mut m = h100_measurements();
        m.copy_s = 0.0;
        let e = calibrated_preset(&GpuPreset::load("h100").unwrap(), &m, "now")
            .unwrap_err()
            .to_string();
        assert!(e.contains("copy time"), "{e}");
        let mut m = h100_measurements();
        m.kernels[1].short_causal_s = Some(f64::NAN);
        let e = calibrated_preset(&GpuPreset::load("h100").unwrap(), &m, "now")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sparselab-w4m1 short causal attention time"), "{e}");
    }

    /// The check of issue 4's follow-up: the overhead fitted on the dense rows only of the H100
    /// bench (4096 and 16384, causal w4m2), the sparse rows predicted with it.
    #[test]
    fn refit_from_the_h100_bench_reproduces_its_dense_rows() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/roofline-h100-2026-11-23");
        let base = GpuPreset::load(dir.join("h100-calibrated.toml").to_str().unwrap()).unwrap();
        let lines = read_bench(&dir.join("bench.csv")).unwrap();
        let (p, reports) = refit_from_bench(&base, &lines, 16384, 4096).unwrap();
        // Only the causal w4m2 dense rows exist: one fit; everything else as it was.
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert_eq!((reports[0].kernel, reports[0].long.shape.causal), ("sparselab", true));
        let (old, new) = (base.measured.as_ref().unwrap(), p.measured.as_ref().unwrap());
        assert_eq!(
            (old.tensor_flops, old.hbm_bandwidth),
            (new.tensor_flops, new.hbm_bandwidth)
        );
        assert_eq!(old.kernels["sparselab-w4m1"], new.kernels["sparselab-w4m1"]);
        let (o, n) = (old.kernels["sparselab"], new.kernels["sparselab"]);
        assert_eq!(o.tensor_efficiency, n.tensor_efficiency);
        assert_eq!(n.block_overhead_tiles, None, "no non-causal rows: the constant stays");
        let overhead = n.causal_block_overhead_tiles.unwrap();
        assert!(overhead > 0.0 && overhead < 50.0, "{overhead}");
        let rows = compare(&p, &dir.join("bench.csv"), &Provenance::cpu()).unwrap();
        for r in rows.iter().filter(|r| r.method == "dense" && r.seq_len <= 16384) {
            assert!(r.error_pct.abs() < 1e-4, "{r:?}");
        }
        let e = refit_from_bench(&GpuPreset::load("h100").unwrap(), &lines, 16384, 4096)
            .unwrap_err()
            .to_string();
        assert!(e.contains("[measured]"), "{e}");
        let e = refit_from_bench(&base, &lines, 8192, 4096).unwrap_err().to_string();
        assert!(e.contains("8192"), "{e}");
    }
}
