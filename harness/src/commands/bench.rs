//! `sparselab bench`: times the GPU attention kernels with CUDA events (warm-up,
//! then median, p10 and p90 of `--iters` launches) and writes one CSV row per
//! kernel and shape, with provenance. Without a GPU it says so and fails.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;

use crate::output::write_csv;
use crate::provenance::Provenance;
use sparselab_kernels::cuda::attention::to_bf16_bits;
use sparselab_kernels::cuda::{nvrtc_version, AttentionParams, AttentionRun, Gpu, TileConfig};
use sparselab_kernels::mask::BlockSparseMask;
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
    /// Which masking to time: `full`, `causal` or `both`.
    #[arg(long, default_value = "both")]
    pub causal: String,
    /// Tile configurations of the dense kernel, comma-separated: w4m1 (4 warps x 16 rows),
    /// w8m1 (8 x 16), w4m2 (4 x 32).
    #[arg(long, value_delimiter = ',', default_value = "w4m1,w8m1,w4m2")]
    pub tiles: Vec<String>,
    /// Block-sparse densities to time (random 128-token block masks), comma-separated; `none` for none.
    #[arg(long, default_value = "0.5,0.2,0.1,0.05")]
    pub densities: String,
    /// Untimed launches first.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
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
    /// Causal masking.
    pub causal: bool,
    /// Fraction of the (causal) key tiles computed.
    pub density: f64,
    /// Index-building time, ms (0: these masks are given, not estimated).
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
    /// Commit of the sources (`SPARSELAB_GIT_COMMIT` overrides, for binaries run outside a checkout).
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
    /// GPU name.
    pub device: String,
    /// CUDA version the driver supports.
    pub driver: String,
    /// NVRTC version and target architecture.
    pub cuda: String,
    /// Streaming multiprocessors of the device.
    pub sms: usize,
}

fn percentile(sorted: &[f32], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64
}

/// Random bf16 bit patterns of values uniform in [-2, 2) (never zeros: timing on zeros is optimistic).
fn random_bf16(rng: &mut SeededRng, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = rng.next_u64();
        for i in 0..4 {
            if out.len() < n {
                let u = ((r >> (16 * i)) & 0xffff) as f32 / 65536.0;
                out.push(4.0 * u - 2.0);
            }
        }
    }
    to_bf16_bits(&out)
}

fn random_block_mask(
    rng: &mut SeededRng,
    heads: usize,
    l: usize,
    causal: bool,
    density: f64,
) -> Result<BlockSparseMask> {
    let block = 128;
    let nb = l.div_ceil(block);
    let mut lists = Vec::with_capacity(heads * nb);
    for _ in 0..heads {
        for qb in 0..nb {
            let limit = if causal { qb + 1 } else { nb };
            let mut list: Vec<u32> = (0..limit as u32).filter(|_| rng.uniform() < density).collect();
            if list.is_empty() {
                list.push(qb.min(limit - 1) as u32);
            }
            lists.push(list);
        }
    }
    Ok(BlockSparseMask::new(heads, l, block, causal, lists)?)
}

/// One kernel to time: method, parameters, tile configuration, and for block-sparse the measured density and mask.
type Case = (String, String, TileConfig, Option<(f64, BlockSparseMask)>);

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
    let tiles = args
        .tiles
        .iter()
        .map(|s| {
            TileConfig::ALL
                .into_iter()
                .find(|t| t.label() == *s)
                .with_context(|| format!("--tiles {s}: expected one of w4m1, w8m1, w4m2"))
        })
        .collect::<Result<Vec<_>>>()?;
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
    let gpu = Gpu::new(0).context("sparselab bench needs a CUDA GPU")?;
    let mut prov = Provenance::cpu();
    prov.device = gpu.name().to_string();
    let dv = gpu.driver_version();
    prov.driver = format!("driver supports CUDA {}.{}", dv / 1000, dv % 1000 / 10);
    let (nv_major, nv_minor) = nvrtc_version()?;
    prov.cuda = format!("NVRTC {nv_major}.{nv_minor}, {}", gpu.arch());
    if let Ok(c) = std::env::var("SPARSELAB_GIT_COMMIT") {
        prov.git_commit = c;
    }
    let kv_heads = args.kv_heads.unwrap_or(args.heads);
    let mut rng = SeededRng::new(0, 99);
    let mut rows = Vec::new();
    for &l in &args.seq_len {
        let q = random_bf16(&mut rng, args.heads * l * args.head_dim);
        let k = random_bf16(&mut rng, kv_heads * l * args.head_dim);
        let v = random_bf16(&mut rng, kv_heads * l * args.head_dim);
        for &causal in &causal_modes {
            let mut cases: Vec<Case> = Vec::new();
            for t in &tiles {
                cases.push(("dense".into(), format!("tile={}", t.label()), *t, None));
            }
            for &d in &densities {
                let m = random_block_mask(&mut rng, args.heads, l, causal, d)?;
                let nb = m.num_blocks();
                let full_tiles = if causal {
                    args.heads * nb * (nb + 1) / 2
                } else {
                    args.heads * nb * nb
                };
                let actual = m.selected_tiles() as f64 / full_tiles as f64;
                cases.push((
                    "block-sparse".into(),
                    format!("block=128,tile=w4m2,target={d}"),
                    TileConfig::W4M2,
                    Some((actual, m)),
                ));
            }
            for (method, params_s, tile, sparse) in cases {
                let params = AttentionParams {
                    heads: args.heads,
                    kv_heads,
                    seq_len: l,
                    head_dim: args.head_dim,
                    causal,
                    tile,
                };
                let mut run = AttentionRun::new(&gpu, params, &q, &k, &v, sparse.as_ref().map(|(_, m)| m))?;
                let mut t = run.time_ms(args.warmup, args.iters)?;
                t.sort_by(f32::total_cmp);
                let med = percentile(&t, 0.5);
                let density = sparse.as_ref().map_or(1.0, |(d, _)| *d);
                let dense_tflops = params.dense_flops() / (med * 1e-3) / 1e12;
                let row = BenchRow {
                    method,
                    params: params_s,
                    seq_len: l,
                    heads: args.heads,
                    kv_heads,
                    head_dim: args.head_dim,
                    causal,
                    density,
                    index_ms: 0.0,
                    kernel_ms: med,
                    p10_ms: percentile(&t, 0.1),
                    p90_ms: percentile(&t, 0.9),
                    tflops_actual: dense_tflops * density,
                    tflops_dense_equiv: dense_tflops,
                    git_commit: prov.git_commit.clone(),
                    date: prov.date.clone(),
                    device: prov.device.clone(),
                    driver: prov.driver.clone(),
                    cuda: prov.cuda.clone(),
                    sms: gpu.sms(),
                };
                println!(
                    "{:<13} {:<22} L={:<6} causal={:<5} density={:.3} median {:.3} ms (p10 {:.3}, p90 {:.3}) {:.1} TFLOP/s actual, {:.1} dense-equiv",
                    row.method, row.params, l, causal, density, med, row.p10_ms, row.p90_ms, row.tflops_actual, dense_tflops
                );
                rows.push(row);
            }
        }
    }
    write_csv(&args.out, &rows)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
