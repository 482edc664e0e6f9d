//! `sparselab roofline`: predicted time of each method at each length on a GPU preset (A100, H100,
//! H200 or a user's TOML, optionally scaled with `--scale bandwidth=2`), with the bound, the
//! arithmetic intensity and the speedup over dense run by the same kernel model; `--paper minference`
//! predicts MInference's A100 prefill table (REFERENCE.md §4) beside the paper's seconds.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::output::write_csv;
use crate::provenance::Provenance;
use crate::roofline_work::{analytic, from_workload, MethodWork};
use sparselab_simulators::roofline::{apply_scales, predict, AttentionShape, GpuPreset, Prediction, Scale};

pub mod against;
pub mod paper;

/// Version of the model's formulas, recorded in every row.
pub const MODEL: &str = "roofline-v1";

/// Arguments of `sparselab roofline`.
#[derive(Debug, clap::Args)]
pub struct RooflineArgs {
    /// GPU preset: a100, h100, h200, or a TOML file (e.g. one written by `sparselab calibrate`).
    /// Default h100 (a100 with `--paper minference`, the paper's card).
    #[arg(long)]
    pub hardware: Option<String>,
    /// Sequence lengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4096,16384,65536,131072,1048576")]
    pub seq_len: Vec<u64>,
    /// Methods with parameters, e.g. `dense,vertical-slash:v=1000,s=6096,spread=0.2,block-topk:k=100`.
    /// Analytic families: dense, a-shape, vertical-slash (with `spread`), block-topk.
    #[arg(long, default_value = "dense,a-shape,vertical-slash,block-topk")]
    pub methods: String,
    /// Query heads (batch 1).
    #[arg(long, default_value_t = 32)]
    pub heads: u64,
    /// Key/value heads; defaults to `--heads`.
    #[arg(long)]
    pub kv_heads: Option<u64>,
    /// Head dimension.
    #[arg(long, default_value_t = 128)]
    pub head_dim: u64,
    /// Causal attention (prefill); `--causal false` for full attention.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub causal: bool,
    /// Bytes per element (2 for bf16).
    #[arg(long, default_value_t = 2)]
    pub dtype_bytes: u64,
    /// Kernel model for every method: fa2, cudnn, minference, sparselab. Default: fa2 for dense,
    /// minference for the sparse methods.
    #[arg(long)]
    pub kernel: Option<String>,
    /// What-if factor on the preset, repeatable: bandwidth, flops, tensor, vector, sfu, l2_bandwidth, l2, sms, launch.
    #[arg(long = "scale")]
    pub scales: Vec<String>,
    /// Count executed tiles from each method's real selection on a synthetic workload (up to 32768 tokens).
    #[arg(long)]
    pub from_workload: bool,
    /// Head profile of the synthetic workload (with --from-workload).
    #[arg(long, default_value = "llama-like")]
    pub profile: String,
    /// Seed of the synthetic workload (with --from-workload).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Predict a paper's table instead: `minference` (LLaMA-3-8B prefill, 100K-1M, A100).
    #[arg(long)]
    pub paper: Option<String>,
    /// Predict every row of a `sparselab bench` CSV instead and print the error against its
    /// measured median (and how far each kernel falls short of its roofline).
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One CSV row: a method at one length on one (possibly scaled) preset.
#[derive(Debug, Clone, Serialize)]
pub struct RooflineRow {
    /// Preset name.
    pub hardware: String,
    /// Method name.
    pub method: String,
    /// Parameters the work was built with.
    pub params: String,
    /// Kernel model (tile, efficiency).
    pub kernel: String,
    /// Tokens.
    pub seq_len: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads.
    pub kv_heads: u64,
    /// Head dimension.
    pub head_dim: u64,
    /// Causal masking.
    pub causal: bool,
    /// Tile rows x keys.
    pub tile: String,
    /// Executed pairs (after tile rounding) over dense pairs.
    pub density: f64,
    /// Executed tiles over all heads.
    pub executed_tiles: u64,
    /// FLOPs: kernel tensor FLOPs plus estimation.
    pub flops: f64,
    /// HBM bytes: kernel plus estimation.
    pub bytes: f64,
    /// Bytes crossing L2 in the kernel.
    pub l2_bytes: f64,
    /// FLOP per HBM byte.
    pub intensity: f64,
    /// Estimation phase, predicted, ms.
    pub estimation_ms: f64,
    /// Kernel phase, predicted, ms.
    pub kernel_ms: f64,
    /// Sustained ceilings x the kernel's efficiency, plus per-block overhead and launches, ms.
    pub predicted_ms: f64,
    /// Datasheet ceilings at 100% (with the wave tail and launches), ms.
    pub roofline_ms: f64,
    /// compute or memory (of the longer phase, predicted).
    pub bound: String,
    /// tensor, sfu, vector, hbm or l2.
    pub limiter: String,
    /// Waves of thread blocks.
    pub waves: u64,
    /// Makespan over balanced time (longest-first scheduling).
    pub tail_factor: f64,
    /// Tensor efficiency used for predicted_ms.
    pub efficiency: f64,
    /// measured, preset or default.
    pub efficiency_source: String,
    /// Predicted dense time (same kernel, same shape) over this predicted time.
    pub speedup_vs_dense: f64,
    /// analytic, or the synthetic workload the tiles were counted on.
    pub work: String,
    /// Model version.
    pub model: String,
    /// The preset's parameters after scaling.
    pub preset: String,
    /// --scale factors (`none`).
    pub scale: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
}

/// Loads `--hardware` (or `default`) and applies `--scale`; returns the preset and the scale label.
pub fn load_preset(hardware: Option<&str>, default: &str, scales: &[String]) -> Result<(GpuPreset, String)> {
    let mut preset = GpuPreset::load(hardware.unwrap_or(default)).context("loading the GPU preset")?;
    let scales = scales
        .iter()
        .map(|s| Scale::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .context("parsing --scale")?;
    let label = apply_scales(&mut preset, &scales);
    Ok((preset, label))
}

/// Runs the command.
pub fn run(args: &RooflineArgs) -> Result<()> {
    if let Some(paper) = &args.paper {
        return match paper.as_str() {
            "minference" => paper::run(args),
            other => bail!("--paper {other}: known papers: minference"),
        };
    }
    if let Some(bench_csv) = &args.against {
        return against::run(args, bench_csv);
    }
    let (preset, scale) = load_preset(args.hardware.as_deref(), "h100", &args.scales)?;
    let specs = split_methods(&args.methods);
    if specs.is_empty() {
        bail!("--methods is empty; e.g. dense,vertical-slash,block-topk");
    }
    let provenance = Provenance::cpu();
    let mut rows = Vec::new();
    for &l in &args.seq_len {
        let shape = AttentionShape {
            seq_len: l,
            heads: args.heads,
            kv_heads: args.kv_heads.unwrap_or(args.heads),
            head_dim: args.head_dim,
            causal: args.causal,
            dtype_bytes: args.dtype_bytes,
        };
        shape.validate().context("the attention shape")?;
        for spec in &specs {
            let mw = if args.from_workload {
                from_workload(spec, shape, args.kernel.as_deref(), &args.profile, args.seed)
            } else {
                analytic(spec, shape, args.kernel.as_deref())
            }
            .with_context(|| format!("{spec} at {l} tokens"))?;
            rows.push(row(&preset, &scale, &provenance, &mw)?);
        }
    }
    println!(
        "{} | scale {scale} | model {MODEL}: predicted = sustained ceilings x kernel efficiency; roofline = datasheet at 100%",
        preset.describe()
    );
    println!("{}", Table::new(rows.iter().map(Line::from)).with(Style::markdown()));
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

/// Splits a method list where a segment without `:` but with `=` continues the previous method.
pub fn split_methods(list: &str) -> Vec<String> {
    let mut specs: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match specs.last_mut() {
            Some(last) if part.contains('=') && !part.contains(':') => {
                last.push(if last.contains(':') { ',' } else { ':' });
                last.push_str(part);
            }
            _ => specs.push(part.to_string()),
        }
    }
    specs
}

/// Predicts `mw` and its dense baseline and builds the row.
pub fn row(preset: &GpuPreset, scale: &str, provenance: &Provenance, mw: &MethodWork) -> Result<RooflineRow> {
    let p: Prediction = predict(preset, &mw.work, &mw.kernel)?;
    let dense = predict(preset, &mw.dense_baseline(), &mw.kernel)?;
    let s = mw.work.shape;
    Ok(RooflineRow {
        hardware: preset.name.clone(),
        method: mw.method.clone(),
        params: mw.params.clone(),
        kernel: mw.kernel.name.to_string(),
        seq_len: s.seq_len,
        heads: s.heads,
        kv_heads: s.kv_heads,
        head_dim: s.head_dim,
        causal: s.causal,
        tile: format!("{}x{}", mw.work.tile.q, mw.work.tile.k),
        density: p.density,
        executed_tiles: p.executed_tiles,
        flops: p.flops,
        bytes: p.bytes,
        l2_bytes: p.traffic.l2_bytes,
        intensity: p.intensity,
        estimation_ms: p.predicted_estimation.time_s * 1e3,
        kernel_ms: p.predicted_kernel.time_s * 1e3,
        predicted_ms: p.predicted_s * 1e3,
        roofline_ms: p.roofline_s * 1e3,
        bound: p.bound().name().to_string(),
        limiter: p.limiter().to_string(),
        waves: p.waves.waves,
        tail_factor: p.waves.tail_factor,
        efficiency: p.efficiency,
        efficiency_source: p.efficiency_source.to_string(),
        speedup_vs_dense: dense.predicted_s / p.predicted_s,
        work: mw.source.clone(),
        model: MODEL.to_string(),
        preset: preset.describe(),
        scale: scale.to_string(),
        git_commit: provenance.git_commit.clone(),
        date: provenance.date.clone(),
    })
}

/// One line of the terminal table.
#[derive(Tabled)]
struct Line {
    method: String,
    params: String,
    #[tabled(rename = "L")]
    seq_len: u64,
    density: String,
    #[tabled(rename = "TFLOP")]
    tflop: String,
    #[tabled(rename = "HBM GB")]
    gb: String,
    #[tabled(rename = "FLOP/B")]
    intensity: String,
    #[tabled(rename = "est ms")]
    est: String,
    #[tabled(rename = "predicted ms")]
    predicted: String,
    #[tabled(rename = "roofline ms")]
    roofline: String,
    bound: String,
    tail: String,
    speedup: String,
}

impl From<&RooflineRow> for Line {
    fn from(r: &RooflineRow) -> Self {
        Self {
            method: format!("{} ({})", r.method, r.kernel),
            params: r.params.clone(),
            seq_len: r.seq_len,
            density: format!("{:.3}", r.density),
            tflop: format!("{:.2}", r.flops / 1e12),
            gb: format!("{:.2}", r.bytes / 1e9),
            intensity: format!("{:.0}", r.intensity),
            est: format!("{:.3}", r.estimation_ms),
            predicted: format!("{:.3}", r.predicted_ms),
            roofline: format!("{:.3}", r.roofline_ms),
            bound: format!("{} ({})", r.bound, r.limiter),
            tail: format!("{:.2}", r.tail_factor),
            speedup: format!("{:.2}", r.speedup_vs_dense),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_lists_keep_parameters_together() {
        assert_eq!(
            split_methods("dense, vertical-slash:v=1000,s=6096,spread=0.5,block-topk"),
            vec!["dense", "vertical-slash:v=1000,s=6096,spread=0.5", "block-topk"]
        );
        assert_eq!(split_methods("block-topk,k=4"), vec!["block-topk:k=4"]);
    }
}
