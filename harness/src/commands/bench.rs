//! `sparselab bench`: times the GPU attention kernels with CUDA events (warm-up,
//! then median, p10 and p90 of `--iters` launches) and writes one CSV row per
//! method, parameters and shape, with provenance and every timed sample. Index
//! building (vertical-slash, block-topk) is timed the same way, apart from the
//! attention kernel. Without a GPU it says so and fails.
//!
//! Timing model: each sample is one launch (or one index build: all of its kernels)
//! between two CUDA events on the same stream, after `--warmup` untimed ones and, with
//! `--warmup-ms`, that many milliseconds of back-to-back launches (sustained-load clocks);
//! samples are enqueued back to back and read after the last. Inputs
//! are not rotated: at the lengths benchmarked (>= 4096 tokens x 32 heads x 128) Q, K
//! and V are 96 MiB or more, beyond the H100's 50 MB L2.

mod device_info;
mod masks;
mod methods;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;

use crate::output::write_csv;
use crate::provenance::Provenance;
use methods::{measure, parse_bench_methods, Measured, Shape};
use sparselab_kernels::cuda::{nvrtc_version, AttentionParams, ElemType, Gpu, TileConfig};
use sparselab_workloads::SeededRng;

/// Arguments of `sparselab bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Sequence lengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4096,16384")]
    pub seq_len: Vec<usize>,
    /// Query heads (batch 1).
    #[arg(long, default_value_t = 32)]
    pub heads: usize,
    /// Key/value heads; defaults to `--heads`.
    #[arg(long)]
    pub kv_heads: Option<usize>,
    /// Head dimension, 64 or 128.
    #[arg(long, default_value_t = 128)]
    pub head_dim: usize,
    /// Element types of Q, K, V and the output, comma-separated: `bf16`, `fp16` (fp32
    /// accumulation in both).
    #[arg(long, value_delimiter = ',', default_value = "bf16")]
    pub dtypes: Vec<String>,
    /// Which masking to time: `full`, `causal` or `both`.
    #[arg(long, default_value = "both")]
    pub causal: String,
    /// Tile configurations of the dense kernel, comma-separated: w4m1 (4 warps x 16 rows),
    /// w8m1 (8 x 16), w4m2 (4 x 32), w2m2 (2 x 32), g1 / g2 (Hopper: one or two warpgroups
    /// of 64 rows with wgmma), g2k (g2 over 128-key tiles), g2w (g2k warp-specialized with
    /// TMA on a persistent grid), or `auto`: w4m1, w8m1, w4m2 and, on Hopper, the g tiles.
    #[arg(long, value_delimiter = ',', default_value = "auto")]
    pub tiles: Vec<String>,
    /// Block-sparse densities to time (random 128-token block masks), comma-separated; `none` for none.
    #[arg(long, default_value = "0.5,0.2,0.1,0.05")]
    pub densities: String,
    /// Methods to time, comma-separated, each optionally with parameters:
    /// `dense` (every --tiles), `block-sparse` (random masks at --densities),
    /// `vertical-slash[:v=1000,s=6096]`, `a-shape[:sink=128,local=3968]`,
    /// `block-topk[:k=100,block=64]` (vertical-slash and a-shape: causal only).
    #[arg(long, default_value = "dense,block-sparse")]
    pub methods: String,
    /// Also write every benchmarked sparse mask under this directory (int32 .npy
    /// arrays and meta.json; format in `harness/src/commands/bench/masks.rs`), for
    /// scripts/peers/flex_masks.py.
    #[arg(long)]
    pub mask_dir: Option<PathBuf>,
    /// Untimed launches first.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Before timing each kernel (and index build), launch it back to back for this many
    /// milliseconds more, so that kernels long and short are timed at the clocks the GPU
    /// holds under sustained load (the H100 boosts for the first ~20 ms of a long run,
    /// then settles at its power limit). 0: only `--warmup`. Recorded in the `clocks` column.
    #[arg(long, default_value_t = 0.0)]
    pub warmup_ms: f64,
    /// Timed launches (each between two CUDA events).
    #[arg(long, default_value_t = 30)]
    pub iters: usize,
    /// Output CSV.
    #[arg(long, default_value = "bench.csv")]
    pub out: PathBuf,
}

/// One timed kernel and shape.
#[derive(Debug, Serialize)]
pub struct BenchRow {
    /// `dense` or `block-sparse`.
    pub method: String,
    /// Tile configuration and, for block-sparse, block size and target density.
    pub params: String,
    /// Tokens.
    pub seq_len: usize,
    /// Query heads (batch 1).
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Element type of Q, K, V and the output (`bf16` or `fp16`).
    pub dtype: String,
    /// Causal masking.
    pub causal: bool,
    /// Fraction of the (causal) key tiles computed.
    pub density: f64,
    /// Median index-building time on the GPU, ms (0: the mask is given, not estimated).
    pub index_ms: f64,
    /// Median of the timed launches.
    pub kernel_ms: f64,
    /// 10th percentile of the timed launches, ms.
    pub p10_ms: f64,
    /// 90th percentile of the timed launches, ms.
    pub p90_ms: f64,
    /// FLOPs actually computed (dense FLOPs times density) per second, 1e12.
    pub tflops_actual: f64,
    /// Dense FLOPs over the kernel time, 1e12/s.
    pub tflops_dense_equiv: f64,
    /// Commit the binary was built from (`SPARSELAB_GIT_COMMIT` overrides; see [`Provenance`]).
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
    /// GPU name.
    pub device: String,
    /// NVIDIA driver version and the CUDA version it supports.
    pub driver: String,
    /// NVRTC version and target architecture.
    pub cuda: String,
    /// Streaming multiprocessors of the device.
    pub sms: usize,
    /// SM and memory clocks and power limit at the start of the run (nvidia-smi).
    pub clocks: String,
    /// Every timed kernel sample, ms, `;`-separated (for `sparselab compare`'s t-test).
    pub samples_ms: String,
}

fn percentile(sorted: &[f32], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64
}

/// Random bit patterns of `elem` of values uniform in [-2, 2) (never zeros: timing on zeros is optimistic).
fn random_elems(rng: &mut SeededRng, elem: ElemType, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = rng.next_u64();
        for i in 0..4 {
            if out.len() < n {
                let u = ((r >> (16 * i)) & 0xffff) as f32 / 65536.0;
                out.push(elem.bits_of(4.0 * u - 2.0));
            }
        }
    }
    out
}

/// One CSV row from a measurement.
fn row(m: Measured, p: &AttentionParams, prov: &Provenance, sms: usize, clocks: &str) -> BenchRow {
    let mut t = m.kernel_ms.clone();
    t.sort_by(f32::total_cmp);
    let med = percentile(&t, 0.5);
    let dense_tflops = p.dense_flops() / (med * 1e-3) / 1e12;
    let index_ms = if m.index_ms.is_empty() {
        0.0
    } else {
        let mut ix = m.index_ms.clone();
        ix.sort_by(f32::total_cmp);
        percentile(&ix, 0.5)
    };
    BenchRow {
        method: m.method,
        params: m.params,
        seq_len: p.seq_len,
        heads: p.heads,
        kv_heads: p.kv_heads,
        head_dim: p.head_dim,
        dtype: p.elem.name().to_string(),
        causal: p.causal,
        density: m.density,
        index_ms,
        kernel_ms: med,
        p10_ms: percentile(&t, 0.1),
        p90_ms: percentile(&t, 0.9),
        tflops_actual: dense_tflops * m.density,
        tflops_dense_equiv: dense_tflops,
        git_commit: prov.git_commit.clone(),
        date: prov.date.clone(),
        device: prov.device.clone(),
        driver: prov.driver.clone(),
        cuda: prov.cuda.clone(),
        sms,
        clocks: clocks.to_string(),
        samples_ms: m
            .kernel_ms
            .iter()
            .map(|x| format!("{x:.5}"))
            .collect::<Vec<_>>()
            .join(";"),
    }
}

/// Runs `sparselab bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    let causal_modes: Vec<bool> = match args.causal.as_str() {
        "full" => vec![false],
        "causal" => vec![true],
        "both" => vec![false, true],
        other => bail!("--causal {other}: expected full, causal or both"),
    };
    if args.iters == 0 {
        bail!("--iters 0: expected at least 1");
    }
    if !(args.warmup_ms >= 0.0 && args.warmup_ms.is_finite()) {
        bail!(
            "--warmup-ms must be a finite number of milliseconds >= 0, got {}",
            args.warmup_ms
        );
    }
    let mut tiles = Vec::new();
    let mut auto_tiles = false;
    for s in &args.tiles {
        if s == "auto" {
            auto_tiles = true;
            tiles.extend([
                TileConfig::W4,
                TileConfig::W8,
                TileConfig::W4M2,
                TileConfig::G1,
                TileConfig::G2,
                TileConfig::G2K,
                TileConfig::G2W,
            ]);
        } else {
            tiles.push(
                TileConfig::from_label(s)
                    .with_context(|| format!("--tiles {s}: expected auto or {}", TileConfig::LABELS))?,
            );
        }
    }
    let densities: Vec<f64> = match args.densities.trim() {
        "" | "none" => Vec::new(),
        list => list
            .split(',')
            .map(|d| match d.trim().parse::<f64>() {
                Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
                _ => bail!("--densities: `{d}` is not a fraction in (0, 1]"),
            })
            .collect::<Result<_>>()?,
    };
    let elems: Vec<ElemType> = args
        .dtypes
        .iter()
        .map(|d| ElemType::parse(d).with_context(|| format!("--dtypes {d}: expected {}", ElemType::LABELS)))
        .collect::<Result<_>>()?;
    if elems.is_empty() {
        bail!("--dtypes is empty; expected {}", ElemType::LABELS);
    }
    let methods = parse_bench_methods(&args.methods)?;
    let gpu = Gpu::new(0).context("sparselab bench needs a CUDA GPU")?;
    if auto_tiles && !TileConfig::G1.runs_on(&gpu.arch()) {
        println!(
            "--tiles auto: {} ({}) has no wgmma; timing the mma.sync tiles only",
            gpu.name(),
            gpu.arch()
        );
        tiles.retain(|t| !t.wgmma);
    }
    let mut prov = Provenance::cpu();
    prov.device = gpu.name().to_string();
    let dv = gpu.driver_version();
    prov.driver = format!(
        "{} (supports CUDA {}.{})",
        device_info::driver_version(),
        dv / 1000,
        dv % 1000 / 10
    );
    let (nv_major, nv_minor) = nvrtc_version()?;
    prov.cuda = format!("NVRTC {nv_major}.{nv_minor}, {}", gpu.arch());
    let mut clocks = device_info::clocks();
    if args.warmup_ms > 0.0 {
        clocks.push_str(&format!("; each kernel sustained {} ms before timing", args.warmup_ms));
    }
    let mut masks = args.mask_dir.as_deref().map(masks::MaskWriter::new).transpose()?;
    let kv_heads = args.kv_heads.unwrap_or(args.heads);
    let mut rng = SeededRng::new(0, 99);
    let mut rows = Vec::new();
    for (&l, &elem) in args.seq_len.iter().flat_map(|l| elems.iter().map(move |e| (l, e))) {
        let q = random_elems(&mut rng, elem, args.heads * l * args.head_dim);
        let k = random_elems(&mut rng, elem, kv_heads * l * args.head_dim);
        let v = random_elems(&mut rng, elem, kv_heads * l * args.head_dim);
        for &causal in &causal_modes {
            let params = AttentionParams {
                heads: args.heads,
                kv_heads,
                seq_len: l,
                head_dim: args.head_dim,
                causal,
                tile: TileConfig::W4M2,
                elem,
            };
            let shape = Shape {
                gpu: &gpu,
                params,
                q: &q,
                k: &k,
                v: &v,
                warmup: args.warmup,
                warmup_ms: args.warmup_ms,
                iters: args.iters,
            };
            for method in &methods {
                if !causal && !method.supports_full() {
                    continue;
                }
                for m in measure(method, &shape, &tiles, &densities, &mut rng, &mut masks)? {
                    let r = row(m, &params, &prov, gpu.sms(), &clocks);
                    println!(
                        "{:<14} {:<32} {} L={:<6} causal={:<5} density={:.3} index {:.3} ms, kernel median {:.3} ms (p10 {:.3}, p90 {:.3}) {:.1} TFLOP/s actual, {:.1} dense-equiv",
                        r.method, r.params, r.dtype, l, causal, r.density, r.index_ms, r.kernel_ms, r.p10_ms, r.p90_ms, r.tflops_actual, r.tflops_dense_equiv
                    );
                    rows.push(r);
                }
            }
        }
    }
    write_csv(&args.out, &rows)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
