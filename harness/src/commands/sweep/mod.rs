//! `sparselab sweep`: what-if sweeps for hardware designers. Varies parameters of
//! the accelerator model (`--accelerator P --vary array=32,64,128 --vary nm=2:4,2:8`)
//! and prints, writes and plots how each model's speedup over dense moves. Any sweep
//! splits with `--shard i/n`; `sparselab merge` joins the shards' CSVs.

mod accelerator;
mod grid;

use anyhow::{Context, Result};
use sparselab_simulators::accelerator::{AcceleratorConfig, ModelSpec, NmRatio, DEFAULT_PRESET, MODEL_NAMES};
use std::path::PathBuf;
use tabled::builder::Builder;
use tabled::settings::Style;

use crate::output::write_csv;
use crate::provenance::Provenance;
use crate::shard::Shard;
use accelerator::AcceleratorRow;
use grid::{parse_axes, points};

/// Arguments of `sparselab sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Accelerator preset (vcu1525, asic128) or TOML file to vary.
    #[arg(long, default_value = DEFAULT_PRESET)]
    pub accelerator: String,
    /// A varied parameter and its values, repeatable: array, rows, cols (PEs), bandwidth (factor on the
    /// preset's DRAM), clock (MHz), lanes (pruning engine), nm (e.g. nm=2:4,2:8).
    #[arg(long)]
    pub vary: Vec<String>,
    /// Models, comma-separated (resnet18, resnet50, vgg16, vit-b16, bert-layer) or `all`.
    #[arg(long, default_value = "resnet50,bert-layer")]
    pub model: String,
    /// N:M ratios when `nm` is not varied.
    #[arg(long, default_value = "2:4,2:8")]
    pub nm: String,
    /// Images or sequences per training step.
    #[arg(long, default_value_t = 32)]
    pub batch: u64,
    /// Tokens per sequence for bert-layer.
    #[arg(long, default_value_t = 128)]
    pub seq: u64,
    /// Run only shard i of n (0-based): grid points i, i+n, ...
    #[arg(long, value_parser = Shard::parse, default_value = "0/1")]
    pub shard: Shard,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs the sweep over this shard's grid points, prints the table, writes the CSV.
pub fn run(args: &SweepArgs) -> Result<()> {
    let base = AcceleratorConfig::preset(&args.accelerator).context("loading the accelerator preset")?;
    let axes = parse_axes(&args.vary, &accelerator::AXES)?;
    let names: Vec<&str> = if args.model.trim() == "all" {
        MODEL_NAMES.to_vec()
    } else {
        args.model.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    };
    let models = names
        .iter()
        .map(|n| ModelSpec::by_name(n, args.batch, args.seq).with_context(|| format!("model {n}")))
        .collect::<Result<Vec<_>>>()?;
    let nm = args
        .nm
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(NmRatio::parse)
        .collect::<Result<Vec<_>, _>>()
        .context("parsing --nm")?;
    let prov = Provenance::cpu();
    let grid = points(&axes);
    let mut rows: Vec<AcceleratorRow> = Vec::new();
    let mut index = 0;
    for (position, point) in grid.iter().enumerate() {
        let per_point = models.len() * accelerator::ratios(point, &nm)?.len();
        if args.shard.owns(position) {
            eprintln!("[{}/{}] {}", position + 1, grid.len(), accelerator::label(point));
            rows.extend(accelerator::rows_at(&base, point, &models, &nm, index, &prov)?);
        }
        index += per_point;
    }
    println!(
        "accelerator sweep on {} | {} grid points{}",
        base.describe(),
        grid.len(),
        if args.shard == Shard::ALL {
            String::new()
        } else {
            format!(", shard {}/{}", args.shard.index, args.shard.count)
        }
    );
    println!("{}", table(&rows));
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

/// The series a row belongs to: its model, with the ratio unless the point already names it.
fn series_of(r: &AcceleratorRow) -> String {
    if r.point.split(';').any(|p| p.starts_with("nm=")) {
        r.model.clone()
    } else {
        format!("{} {}", r.model, r.nm)
    }
}

/// Speedup over dense per point (rows) and series (columns).
fn table(rows: &[AcceleratorRow]) -> String {
    let mut series: Vec<String> = Vec::new();
    let mut points: Vec<String> = Vec::new();
    for r in rows {
        let s = series_of(r);
        if !series.contains(&s) {
            series.push(s);
        }
        if !points.contains(&r.point) {
            points.push(r.point.clone());
        }
    }
    let mut b = Builder::default();
    b.push_record(std::iter::once("point".to_string()).chain(series.iter().map(|s| format!("{s} speedup"))));
    for p in &points {
        let cells = series.iter().map(|s| {
            rows.iter()
                .find(|r| &r.point == p && series_of(r) == *s)
                .map(|r| format!("{:.3}", r.speedup_vs_dense))
                .unwrap_or_default()
        });
        b.push_record(std::iter::once(p.clone()).chain(cells));
    }
    b.build().with(Style::markdown()).to_string()
}
