//! `sparselab tasks mqar`: MQAR accuracy of each method, overall and by the
//! distance between a key and its query.

use anyhow::{Context, Result};
use serde::Serialize;
use sparselab_kernels::method::parse_methods;
use sparselab_workloads::tasks::{MqarConfig, MqarSolver, MqarTask};
use std::path::PathBuf;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::scoring::{run_methods, MethodOutput};
use super::{progress_bar, report_skipped};
use crate::output::write_csv;
use crate::provenance::Provenance;

/// Arguments of `sparselab tasks mqar`.
#[derive(Debug, clap::Args)]
pub struct MqarArgs {
    /// Tokens per sequence (even; Zoology's configs are 64-512, long ones stress sparse methods).
    #[arg(long, default_value_t = 512)]
    pub seq_len: usize,
    /// Key-value pairs per sequence (at most seq-len / 4).
    #[arg(long, default_value_t = 64)]
    pub kv_pairs: usize,
    /// Sequences (each one head of the workload).
    #[arg(long, default_value_t = 32)]
    pub examples: usize,
    /// Methods with budgets, e.g. `dense,a-shape:sink=4,local=128,vertical-slash:v=256,s=128`; `all` = every method at its defaults.
    #[arg(long, default_value = "all")]
    pub methods: String,
    /// Vocabulary size; default 8192 (Zoology's), or the next power of two above seq-len for longer sequences.
    #[arg(long)]
    pub vocab: Option<usize>,
    /// Power-law exponent of the key-to-query gaps (Zoology: 0.01; 1.0 = uniform).
    #[arg(long, default_value_t = 0.01)]
    pub power_a: f64,
    /// Head dimension of the constructed solver.
    #[arg(long, default_value_t = 128)]
    pub head_dim: usize,
    /// Seed of the sequences and embeddings.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// One CSV row: a method's accuracy over all queries (`distance` = `all`) or over
/// the queries whose key lies in one distance range.
#[derive(Debug, Clone, Serialize)]
pub struct MqarRow {
    /// Always `mqar`.
    pub task: &'static str,
    /// Registered method name.
    pub method: String,
    /// Canonical parameters (the budget).
    pub params: String,
    /// The parameters the selection used at this length (defaults capped to the sequence).
    pub params_used: String,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Executed pairs after tile rounding over causal pairs.
    pub density: f64,
    /// Zoology's accuracy: mean over queries, then over examples (for `all`); the
    /// share of correct queries in the range otherwise.
    pub accuracy: f64,
    /// Workload seed.
    pub seed: u64,
    /// `all`, or a range of key-to-query distances in tokens, e.g. `64-255`.
    pub distance: String,
    /// Queries in this row.
    pub queries: usize,
    /// Key-value pairs per sequence.
    pub kv_pairs: usize,
    /// Sequences.
    pub examples: usize,
    /// Vocabulary size.
    pub vocab: usize,
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

/// Lower edges of the distance ranges (powers of 4 from 64).
const DISTANCE_EDGES: [usize; 7] = [0, 64, 256, 1024, 4096, 16384, 65536];

fn bucket_of(distance: usize) -> usize {
    DISTANCE_EDGES.iter().rposition(|&e| distance >= e).unwrap_or(0)
}

fn bucket_label(b: usize) -> String {
    match DISTANCE_EDGES.get(b + 1) {
        Some(next) => format!("{}-{}", DISTANCE_EDGES[b], next - 1),
        None => format!("{}+", DISTANCE_EDGES[b]),
    }
}

/// Runs the command: builds the task, scores every method, prints the table, writes the CSV.
pub fn run(args: &MqarArgs) -> Result<()> {
    let methods = parse_methods(&args.methods)?;
    let mut config = MqarConfig::new(args.seq_len, args.kv_pairs);
    config.power_a = args.power_a;
    if let Some(v) = args.vocab {
        config.vocab_size = v;
    }
    let solver = MqarSolver {
        head_dim: args.head_dim,
        ..MqarSolver::default()
    };
    let task = MqarTask::build(&config, args.examples, &solver, args.seed).context("building the MQAR task")?;
    let bar = progress_bar(!args.quiet, methods.len() as u64);
    let (outputs, skipped) = run_methods(&task.workload, &methods, &task.probes(), &bar)?;
    bar.finish_and_clear();
    report_skipped(&skipped, args.seq_len);
    let rows = score_rows(&task, &outputs, args.seed)?;
    println!(
        "mqar | {} tokens, {} pairs, {} examples, vocab {}, head dim {}, seed {}",
        config.seq_len, config.num_kv_pairs, args.examples, config.vocab_size, args.head_dim, args.seed
    );
    println!("{}", render_table(&rows));
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

/// Scores each method's outputs: one `all` row and one row per non-empty distance range.
pub fn score_rows(task: &MqarTask, outputs: &[MethodOutput], seed: u64) -> Result<Vec<MqarRow>> {
    let provenance = Provenance::cpu();
    let buckets: Vec<usize> = task.queries().map(|q| bucket_of(q.distance())).collect();
    let mut rows = Vec::new();
    for m in outputs {
        let score = task.score(&m.outputs)?;
        let row = |distance: String, queries: usize, accuracy: f64| MqarRow {
            task: "mqar",
            method: m.name.clone(),
            params: m.params.clone(),
            params_used: m.params_used.clone(),
            seq_len: task.config.seq_len,
            density: m.density,
            accuracy,
            seed,
            distance,
            queries,
            kv_pairs: task.config.num_kv_pairs,
            examples: task.examples.len(),
            vocab: task.config.vocab_size,
            head_dim: task.workload.head_dim(),
            est_flops: m.est_flops,
            git_commit: provenance.git_commit.clone(),
            date: provenance.date.clone(),
            device: provenance.device.clone(),
            driver: provenance.driver.clone(),
            cuda: provenance.cuda.clone(),
        };
        rows.push(row("all".into(), score.correct.len(), score.accuracy));
        for b in 0..DISTANCE_EDGES.len() {
            let in_bucket: Vec<bool> = score
                .correct
                .iter()
                .zip(&buckets)
                .filter(|(_, &qb)| qb == b)
                .map(|(&c, _)| c)
                .collect();
            if !in_bucket.is_empty() {
                let acc = in_bucket.iter().filter(|&&c| c).count() as f64 / in_bucket.len() as f64;
                rows.push(row(bucket_label(b), in_bucket.len(), acc));
            }
        }
    }
    Ok(rows)
}

/// The rows as a terminal table: one line per method, accuracy overall and per distance range.
pub fn render_table(rows: &[MqarRow]) -> String {
    let mut ranges: Vec<(String, usize)> = Vec::new();
    for r in rows.iter().filter(|r| r.distance != "all") {
        if !ranges.iter().any(|(d, _)| *d == r.distance) {
            ranges.push((r.distance.clone(), r.queries));
        }
    }
    let mut b = Builder::default();
    let mut header = vec![
        "method".to_string(),
        "budget".into(),
        "density".into(),
        "accuracy".into(),
    ];
    header.extend(ranges.iter().map(|(d, n)| format!("d {d} ({n} q)")));
    b.push_record(header);
    for all in rows.iter().filter(|r| r.distance == "all") {
        let mut line = vec![
            all.method.clone(),
            crate::commands::recall::budget_label(&all.params, &all.params_used),
            format!("{:.3}", all.density),
            format!("{:.4}", all.accuracy),
        ];
        for (d, _) in &ranges {
            let cell = rows
                .iter()
                .find(|r| r.method == all.method && r.params == all.params && r.distance == *d)
                .map(|r| format!("{:.3}", r.accuracy))
                .unwrap_or_else(|| "-".into());
            line.push(cell);
        }
        b.push_record(line);
    }
    b.build().with(Style::markdown()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_ranges_are_powers_of_four() {
        assert_eq!(bucket_of(2), 0);
        assert_eq!(bucket_of(64), 1);
        assert_eq!(bucket_of(1023), 2);
        assert_eq!(bucket_of(1 << 20), 6);
        assert_eq!(bucket_label(0), "0-63");
        assert_eq!(bucket_label(2), "256-1023");
        assert_eq!(bucket_label(6), "65536+");
    }
}
