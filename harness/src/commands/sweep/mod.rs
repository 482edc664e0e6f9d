//! `sparselab sweep`: what-if sweeps for hardware designers. Varies a GPU preset's
//! ceilings through the roofline (`--hardware h100 --vary bandwidth=0.5,1,2,4 --vary
//! flops=1,2 --methods ...`) or the accelerator model's parameters (`--accelerator P
//! --vary array=32,64,128 --vary nm=2:4,2:8`), and prints and writes how each method's
//! (or model's) speedup over dense moves. Any sweep splits with `--shard i/n`;
//! `sparselab merge` joins the shards' CSVs.

mod accelerator;
mod chart;
mod gpu;
mod grid;

use anyhow::{Context, Result};
use sparselab_simulators::accelerator::{AcceleratorConfig, ModelSpec, DEFAULT_PRESET};
use std::path::PathBuf;
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::commands::roofline::split_methods;
use crate::commands::simulate::{model_names, parse_nm_list};
use crate::output::write_csv;
use crate::provenance::Provenance;
use crate::shard::Shard;
use accelerator::AcceleratorRow;
use gpu::{GpuRow, GpuSweep};
use grid::{parse_axes, points, Point};
use sparselab_simulators::roofline::AttentionShape;

/// Arguments of `sparselab sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// GPU preset (a100, h100, h200) or TOML file: sweep the roofline over scaled ceilings.
    #[arg(long, conflicts_with = "accelerator")]
    pub hardware: Option<String>,
    /// Accelerator preset (vcu1525, asic128) or TOML file: sweep the accelerator model (the default,
    /// on vcu1525, when neither is given).
    #[arg(long)]
    pub accelerator: Option<String>,
    /// A varied parameter and its values, repeatable. GPU: factors on the preset's bandwidth, flops,
    /// tensor, vector, sfu, l2_bandwidth, l2, sms, launch. Accelerator: array, rows, cols (PEs),
    /// bandwidth (factor on DRAM), clock (MHz), lanes (pruning engine), nm (e.g. nm=2:4,2:8).
    #[arg(long)]
    pub vary: Vec<String>,
    /// GPU: methods with parameters (analytic families: dense, a-shape, vertical-slash, block-topk).
    #[arg(long, default_value = "dense,a-shape,vertical-slash,block-topk")]
    pub methods: String,
    /// GPU: sequence lengths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "131072")]
    pub seq_len: Vec<u64>,
    /// GPU: query heads (batch 1).
    #[arg(long, default_value_t = 32)]
    pub heads: u64,
    /// GPU: key/value heads (default: --heads).
    #[arg(long)]
    pub kv_heads: Option<u64>,
    /// GPU: head dimension.
    #[arg(long, default_value_t = 128)]
    pub head_dim: u64,
    /// GPU: kernel model for every method (fa2, cudnn, minference, sparselab); default per method.
    #[arg(long)]
    pub kernel: Option<String>,
    /// Accelerator: models, comma-separated (resnet18, resnet50, vgg16, vit-b16, bert-layer) or `all`.
    #[arg(long, default_value = "resnet50,bert-layer")]
    pub model: String,
    /// Accelerator: N:M ratios when `nm` is not varied.
    #[arg(long, default_value = "2:4,2:8")]
    pub nm: String,
    /// Accelerator: images or sequences per training step.
    #[arg(long, default_value_t = 32)]
    pub batch: u64,
    /// Accelerator: tokens per sequence for bert-layer.
    #[arg(long, default_value_t = 128)]
    pub seq: u64,
    /// Run only shard i of n (0-based): grid points i, i+n, ...
    #[arg(long, value_parser = Shard::parse, default_value = "0/1")]
    pub shard: Shard,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the chart (speedup against the first varied parameter) here as .svg and .png; default:
    /// next to `--out`, same name.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// Runs the sweep over this shard's grid points, prints the table, writes the CSV.
pub fn run(args: &SweepArgs) -> Result<()> {
    match &args.hardware {
        Some(hardware) => run_gpu(args, hardware),
        None => run_accelerator(args),
    }
}

/// Progress on stderr and whether this shard runs `position`.
fn owns(args: &SweepArgs, position: usize, total: usize, point: &Point) -> bool {
    let mine = args.shard.owns(position);
    if mine {
        eprintln!("[{}/{}] {}", position + 1, total, accelerator::label(point));
    }
    mine
}

fn shard_label(shard: Shard) -> String {
    if shard == Shard::ALL {
        String::new()
    } else {
        format!(", shard {}/{}", shard.index, shard.count)
    }
}

fn run_gpu(args: &SweepArgs, hardware: &str) -> Result<()> {
    let axes = parse_axes(&args.vary, &gpu::AXES)?;
    let methods = split_methods(&args.methods);
    let first = *args.seq_len.first().context("--seq-len: give at least one length")?;
    let sweep = GpuSweep {
        hardware,
        methods: &methods,
        seq_lens: &args.seq_len,
        shape: AttentionShape {
            seq_len: first,
            heads: args.heads,
            kv_heads: args.kv_heads.unwrap_or(args.heads),
            head_dim: args.head_dim,
            causal: true,
            dtype_bytes: 2,
        },
        kernel: args.kernel.as_deref(),
    };
    let prov = Provenance::cpu();
    let grid = points(&axes);
    let mut rows: Vec<GpuRow> = Vec::new();
    for (position, point) in grid.iter().enumerate() {
        if owns(args, position, grid.len(), point) {
            rows.extend(sweep.rows_at(point, position * sweep.rows_per_point(), &prov)?);
        }
    }
    println!(
        "GPU what-if on {hardware} (roofline, causal prefill, {} heads, D={}) | {} grid points{}",
        args.heads,
        args.head_dim,
        grid.len(),
        shard_label(args.shard)
    );
    let cells: Vec<(String, String, f64)> = rows
        .iter()
        .map(|r| {
            (
                r.point.clone(),
                format!("{} L={}", r.method, r.seq_len),
                r.speedup_vs_dense,
            )
        })
        .collect();
    println!("{}", table(&cells));
    plot(
        args,
        &axes,
        &format!("what-if on {hardware}: speedup over dense (roofline)"),
        &cells,
    )?;
    write(args, &rows)
}

/// Writes the chart where `--plot` (or `--out`) says, when a parameter was varied.
fn plot(args: &SweepArgs, axes: &[grid::Axis], title: &str, cells: &[(String, String, f64)]) -> Result<()> {
    let (Some(first), Some(path)) = (axes.first(), args.plot.as_ref().or(args.out.as_ref())) else {
        return Ok(());
    };
    let cells: Vec<chart::Cell<'_>> = cells
        .iter()
        .map(|(point, series, speedup)| chart::Cell {
            point,
            series: series.clone(),
            speedup: *speedup,
        })
        .collect();
    let (svg, png) = chart::write(title, first, &cells, path)?;
    println!("wrote {} and {}", svg.display(), png.display());
    Ok(())
}

fn write<T: serde::Serialize>(args: &SweepArgs, rows: &[T]) -> Result<()> {
    if let Some(path) = &args.out {
        write_csv(path, rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

fn run_accelerator(args: &SweepArgs) -> Result<()> {
    let preset = args.accelerator.as_deref().unwrap_or(DEFAULT_PRESET);
    let base = AcceleratorConfig::preset(preset).context("loading the accelerator preset")?;
    let axes = parse_axes(&args.vary, &accelerator::AXES)?;
    let names = model_names(&args.model);
    let models = names
        .iter()
        .map(|n| ModelSpec::by_name(n, args.batch, args.seq).with_context(|| format!("model {n}")))
        .collect::<Result<Vec<_>>>()?;
    let nm = parse_nm_list(&args.nm)?;
    let prov = Provenance::cpu();
    let grid = points(&axes);
    let mut rows: Vec<AcceleratorRow> = Vec::new();
    let mut index = 0;
    for (position, point) in grid.iter().enumerate() {
        let per_point = models.len() * accelerator::ratios(point, &nm)?.len();
        if owns(args, position, grid.len(), point) {
            rows.extend(accelerator::rows_at(&base, point, &models, &nm, index, &prov)?);
        }
        index += per_point;
    }
    println!(
        "accelerator sweep on {} | {} grid points{}",
        base.describe(),
        grid.len(),
        shard_label(args.shard)
    );
    let cells: Vec<(String, String, f64)> = rows
        .iter()
        .map(|r| (r.point.clone(), series_of(r), r.speedup_vs_dense))
        .collect();
    println!("{}", table(&cells));
    plot(
        args,
        &axes,
        &format!("what-if on {}: N:M training speedup", base.name),
        &cells,
    )?;
    write(args, &rows)
}

/// The series a row belongs to: its model, with the ratio unless the point already names it.
fn series_of(r: &AcceleratorRow) -> String {
    if r.point.split(';').any(|p| p.starts_with("nm=")) {
        r.model.clone()
    } else {
        format!("{} {}", r.model, r.nm)
    }
}

/// Speedup over dense per point (rows) and series (columns) from `(point, series, speedup)` cells.
fn table(cells: &[(String, String, f64)]) -> String {
    let mut series: Vec<&str> = Vec::new();
    let mut points: Vec<&str> = Vec::new();
    for (p, s, _) in cells {
        if !series.contains(&s.as_str()) {
            series.push(s);
        }
        if !points.contains(&p.as_str()) {
            points.push(p);
        }
    }
    let mut b = Builder::default();
    b.push_record(std::iter::once("point".to_string()).chain(series.iter().map(|s| format!("{s} speedup"))));
    for p in &points {
        let row = series.iter().map(|s| {
            cells
                .iter()
                .find(|(cp, cs, _)| cp == p && cs == s)
                .map(|(_, _, v)| format!("{v:.3}"))
                .unwrap_or_default()
        });
        b.push_record(std::iter::once(p.to_string()).chain(row));
    }
    b.build().with(Style::markdown()).to_string()
}
