//! `sparselab tasks niah`: needle-in-a-haystack retrieval of each method over a
//! grid of context lengths and needle depths, as a table, a CSV and a heat map.

use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use serde::Serialize;
use sparselab_kernels::method::{parse_methods, Method};
use sparselab_workloads::synthetic::{generate, SyntheticSpec};
use sparselab_workloads::tasks::{NiahSpec, NiahTask, NiahVariant};
use std::path::PathBuf;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::scoring::run_methods;
use super::{progress_bar, report_skipped};
use crate::output::write_csv;
use crate::plot::{heatmap_scene, write_svg_and_png, HeatmapPanel};
use crate::provenance::Provenance;

/// Arguments of `sparselab tasks niah`.
#[derive(Debug, clap::Args)]
pub struct NiahArgs {
    /// Context lengths in tokens, comma-separated (RULER uses 4k-128k).
    #[arg(long, default_value = "4096,8192,16384")]
    pub lengths: String,
    /// Needle depths: a count of evenly spaced depths from 0% to 100% (11 = every 10%),
    /// or a comma-separated list of percents, e.g. `0,25,50,75,100`.
    #[arg(long, default_value = "11")]
    pub depths: String,
    /// RULER variant: single, multikey (4 keys, one asked), multivalue (4 values), multiquery (4 keys asked).
    #[arg(long, default_value = "single")]
    pub variant: String,
    /// Methods with budgets, e.g. `dense,a-shape,vertical-slash:v=1000,s=6096`; `all` = every method at its defaults.
    #[arg(long, default_value = "all")]
    pub methods: String,
    /// Head profile of the haystack (streaming, vertical-slash, block, retrieval, mixed, llama-like).
    #[arg(long, default_value = "llama-like")]
    pub profile: String,
    /// Query heads (each an independent haystack and needle set).
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Key/value heads (grouped-query attention); defaults to `--heads`.
    #[arg(long)]
    pub kv_heads: Option<usize>,
    /// Head dimension.
    #[arg(long, default_value_t = 128)]
    pub head_dim: usize,
    /// Needle logit above the rest of the question's row (dense keeps > 1 - e^-margin on the needles).
    #[arg(long, default_value_t = 8.0)]
    pub margin: f64,
    /// Seed of the haystack and the needles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write a heat map (depth x length, one panel per method) here as SVG, and as PNG beside it.
    #[arg(long)]
    pub heatmap: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// One CSV row: one method at one length and depth.
#[derive(Debug, Clone, Serialize)]
pub struct NiahRow {
    /// Always `niah`.
    pub task: &'static str,
    /// Registered method name.
    pub method: String,
    /// Canonical parameters (the budget).
    pub params: String,
    /// The parameters the selection used at this length (defaults capped to the sequence).
    pub params_used: String,
    /// Context length in tokens.
    pub seq_len: usize,
    /// Executed pairs after tile rounding over causal pairs.
    pub density: f64,
    /// Fraction of needles retrieved (mean over heads and questions).
    pub accuracy: f64,
    /// Seed of haystack and needles.
    pub seed: u64,
    /// Depth of the first needle, percent of the context (0 = start, 100 = end).
    pub depth: f64,
    /// RULER variant.
    pub variant: &'static str,
    /// Haystack head profile.
    pub profile: String,
    /// Query heads.
    pub heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Estimation FLOPs of the method.
    pub est_flops: f64,
    /// Commit of the sources (see [`Provenance`]).
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
    /// Device that computed the row.
    pub device: String,
    /// GPU driver, or `none`.
    pub driver: String,
    /// CUDA version, or `none`.
    pub cuda: String,
}

/// Parses `--lengths`.
fn parse_lengths(s: &str) -> Result<Vec<usize>> {
    let lengths: Vec<usize> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            let (num, mult) = match x.strip_suffix(['k', 'K']) {
                Some(n) => (n, 1024),
                None => (x, 1),
            };
            num.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .map(|n| n * mult)
                .with_context(|| format!("--lengths: `{x}` is not a positive token count (e.g. 4096 or 4k)"))
        })
        .collect::<Result<_>>()?;
    if lengths.is_empty() {
        bail!("--lengths is empty; give e.g. 4096,16384");
    }
    Ok(lengths)
}

/// Parses `--depths` into fractions in [0, 1].
fn parse_depths(s: &str) -> Result<Vec<f64>> {
    let s = s.trim();
    if !s.contains(',') {
        let n: usize = s.parse().ok().filter(|&n| n >= 1).with_context(|| {
            format!("--depths: `{s}` is neither a count of depths (e.g. 11) nor a list of percents")
        })?;
        if n == 1 {
            return Ok(vec![0.5]);
        }
        return Ok((0..n).map(|i| i as f64 / (n - 1) as f64).collect());
    }
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse::<f64>()
                .ok()
                .filter(|p| (0.0..=100.0).contains(p))
                .map(|p| p / 100.0)
                .with_context(|| format!("--depths: `{x}` is not a percent in [0, 100]"))
        })
        .collect()
}

/// `4096` -> `4k`, `131072` -> `128k`, `1000` -> `1000`.
fn short_length(n: usize) -> String {
    if n % 1024 == 0 {
        format!("{}k", n / 1024)
    } else {
        n.to_string()
    }
}

/// Runs the command over the grid of lengths and depths.
pub fn run(args: &NiahArgs) -> Result<()> {
    let methods = parse_methods(&args.methods)?;
    let variant = NiahVariant::parse(&args.variant)?;
    let lengths = parse_lengths(&args.lengths)?;
    let depths = parse_depths(&args.depths)?;
    let bar = progress_bar(!args.quiet, (lengths.len() * depths.len() * methods.len()) as u64);
    let rows = grid(args, &methods, variant, &lengths, &depths, &bar)?;
    bar.finish_and_clear();
    println!(
        "niah {} | profile {}, {} heads, head dim {}, lengths {}, {} depths, seed {}",
        variant.name(),
        args.profile,
        args.heads,
        args.head_dim,
        lengths.iter().map(|&l| short_length(l)).collect::<Vec<_>>().join(","),
        depths.len(),
        args.seed
    );
    let panels = panels(&rows, &lengths, &depths);
    for p in &panels {
        println!("\n{}", render_panel(p, &rows));
    }
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    if let Some(path) = &args.heatmap {
        let title = format!(
            "NIAH {} | haystack {} | fraction of needles retrieved",
            variant.name(),
            args.profile
        );
        let scene = heatmap_scene(&title, "context length", "depth %", &panels);
        let (svg, png) = write_svg_and_png(&scene, path)?;
        println!("wrote heat maps {} and {}", svg.display(), png.display());
    }
    Ok(())
}

/// Scores every method at every length (one haystack per length, from `args`'
/// profile, heads and seed) and depth; methods that cannot run at a length are
/// reported on stderr and left out.
pub fn grid(
    args: &NiahArgs,
    methods: &[Box<dyn Method>],
    variant: NiahVariant,
    lengths: &[usize],
    depths: &[f64],
    bar: &ProgressBar,
) -> Result<Vec<NiahRow>> {
    let provenance = Provenance::cpu();
    let mut rows = Vec::new();
    for &length in lengths {
        bar.set_message(format!("haystack of {length} tokens"));
        let haystack = generate(&SyntheticSpec {
            profile: args.profile.clone(),
            seq_len: length,
            heads: args.heads,
            kv_heads: args.kv_heads.unwrap_or(args.heads),
            head_dim: args.head_dim,
            seed: args.seed,
        })
        .with_context(|| format!("building the {length}-token haystack"))?;
        let mut skipped_here = Vec::new();
        for &depth in depths {
            let spec = NiahSpec {
                margin: args.margin,
                ..NiahSpec::new(variant, depth, args.seed)
            };
            let task =
                NiahTask::plant(&haystack, &spec).with_context(|| format!("planting needles at {length} tokens"))?;
            let (outputs, skipped) = run_methods(&task.workload, methods, &task.probes(), bar)?;
            for m in &outputs {
                rows.push(NiahRow {
                    task: "niah",
                    method: m.name.clone(),
                    params: m.params.clone(),
                    params_used: m.params_used.clone(),
                    seq_len: length,
                    density: m.density,
                    accuracy: task.score(&m.outputs)?.retrieval,
                    seed: args.seed,
                    depth: percent(depth),
                    variant: variant.name(),
                    profile: args.profile.clone(),
                    heads: args.heads,
                    head_dim: args.head_dim,
                    est_flops: m.est_flops,
                    git_commit: provenance.git_commit.clone(),
                    date: provenance.date.clone(),
                    device: provenance.device.clone(),
                    driver: provenance.driver.clone(),
                    cuda: provenance.cuda.clone(),
                });
            }
            if skipped_here.is_empty() {
                skipped_here = skipped;
            }
        }
        bar.suspend(|| report_skipped(&skipped_here, length));
    }
    Ok(rows)
}

/// A depth fraction as a percent rounded to 0.1.
fn percent(depth: f64) -> f64 {
    (depth * 1000.0).round() / 10.0
}

/// One panel per method (in the order they ran): depth rows x length columns.
pub fn panels(rows: &[NiahRow], lengths: &[usize], depths: &[f64]) -> Vec<HeatmapPanel> {
    let mut labels: Vec<(String, String)> = Vec::new();
    for r in rows {
        if !labels.iter().any(|(m, p)| *m == r.method && *p == r.params) {
            labels.push((r.method.clone(), r.params.clone()));
        }
    }
    labels
        .into_iter()
        .map(|(method, params)| {
            let values = depths
                .iter()
                .map(|&d| {
                    let pct = percent(d);
                    lengths
                        .iter()
                        .map(|&l| {
                            rows.iter()
                                .find(|r| r.method == method && r.params == params && r.seq_len == l && r.depth == pct)
                                .map(|r| r.accuracy)
                        })
                        .collect()
                })
                .collect();
            HeatmapPanel {
                title: if params.is_empty() {
                    method
                } else {
                    format!("{method}:{params}")
                },
                rows: depths.iter().map(|&d| format!("{}", percent(d))).collect(),
                cols: lengths.iter().map(|&l| short_length(l)).collect(),
                values,
            }
        })
        .collect()
}

/// A panel as a terminal table with the mean density per length in the last line.
fn render_panel(p: &HeatmapPanel, rows: &[NiahRow]) -> String {
    let mut b = Builder::default();
    let mut header = vec!["depth %".to_string()];
    header.extend(p.cols.iter().cloned());
    b.push_record(header);
    for (label, line) in p.rows.iter().zip(&p.values) {
        let mut cells = vec![label.clone()];
        cells.extend(
            line.iter()
                .map(|v| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())),
        );
        b.push_record(cells);
    }
    let mut mean = vec!["mean".to_string()];
    let mut density = vec!["density".to_string()];
    for (c, col) in p.cols.iter().enumerate() {
        let vals: Vec<f64> = p.values.iter().filter_map(|line| line[c]).collect();
        mean.push(if vals.is_empty() {
            "-".into()
        } else {
            format!("{:.2}", vals.iter().sum::<f64>() / vals.len() as f64)
        });
        let dens: Vec<f64> = rows
            .iter()
            .filter(|r| label_of(r) == p.title && short_length(r.seq_len) == *col)
            .map(|r| r.density)
            .collect();
        density.push(if dens.is_empty() {
            "-".into()
        } else {
            format!("{:.3}", dens.iter().sum::<f64>() / dens.len() as f64)
        });
    }
    b.push_record(mean);
    b.push_record(density);
    format!("{}\n{}", p.title, b.build().with(Style::markdown()))
}

fn label_of(r: &NiahRow) -> String {
    if r.params.is_empty() {
        r.method.clone()
    } else {
        format!("{}:{}", r.method, r.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_arguments_parse() {
        assert_eq!(parse_lengths("4096, 16k").unwrap(), vec![4096, 16384]);
        assert!(parse_lengths("4096,abc").unwrap_err().to_string().contains("`abc`"));
        assert!(parse_lengths("").is_err());
        assert_eq!(parse_depths("3").unwrap(), vec![0.0, 0.5, 1.0]);
        assert_eq!(parse_depths("0,25,100").unwrap(), vec![0.0, 0.25, 1.0]);
        assert!(parse_depths("0,150").unwrap_err().to_string().contains("`150`"));
        assert!(parse_depths("0").is_err());
        assert_eq!(short_length(131072), "128k");
        assert_eq!(short_length(1000), "1000");
    }
}
