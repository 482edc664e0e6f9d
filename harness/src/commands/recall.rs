//! `sparselab recall`: how much of the attention each method keeps, on the CPU.

use anyhow::{Context, Result};
use std::path::PathBuf;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::output::write_csv;
use crate::shard::Shard;
use crate::study::recall::{mark_pareto, progress_bar, recall_table, RecallRow};
use sparselab_kernels::method::parse_methods;
use sparselab_workloads::io::load_qkv;
use sparselab_workloads::synthetic::generate;

use crate::synthetic_args::SyntheticArgs;

/// Arguments of `sparselab recall`.
#[derive(Debug, clap::Args)]
pub struct RecallArgs {
    /// The synthetic workload (unused with `--from-file`).
    #[command(flatten)]
    pub workload: SyntheticArgs,
    /// Methods with budgets, e.g. `dense,vertical-slash:v=1000,s=6096,a-shape`; `all` = every method at its defaults.
    #[arg(long, default_value = "all")]
    pub methods: String,
    /// Full (bidirectional) attention instead of causal prefill.
    #[arg(long)]
    pub non_causal: bool,
    /// Run on Q/K/V from a file instead of a synthetic workload: `x.safetensors` (tensors q, k, v), a folder
    /// with q.npy, k.npy, v.npy, or a prefix P for Pq.npy, Pk.npy, Pv.npy; f32/f16/bf16, `[heads, seq, dim]`
    /// or `[batch, heads, seq, dim]`. The synthetic options (--profile, --seq-len, ...) are then not used.
    #[arg(long, conflicts_with_all = ["profile", "seq_len", "heads", "kv_heads", "head_dim", "seed"])]
    pub from_file: Option<PathBuf>,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only part `i` of `n` of the methods (0-based: methods i, i+n, ...), e.g. one per GPU or per
    /// Slurm array task; join the parts' CSVs with `sparselab merge`, which also sets the Pareto marks.
    #[arg(long, default_value = "0/1", value_parser = Shard::parse)]
    pub shard: Shard,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command: builds the workload, computes the table, prints it and writes the CSV.
pub fn run(args: &RecallArgs) -> Result<()> {
    let methods = parse_methods(&args.methods)?;
    let workload = match &args.from_file {
        Some(path) => load_qkv(path).with_context(|| format!("loading Q/K/V from {}", path.display()))?,
        None => generate(&args.workload.spec()).context("building the synthetic workload")?,
    };
    let work: Vec<(usize, &dyn sparselab_kernels::method::Method)> = methods
        .iter()
        .enumerate()
        .filter(|(i, _)| args.shard.owns(*i))
        .map(|(i, m)| (i, m.as_ref()))
        .collect();
    let bar = progress_bar(work.len() + 1, !args.quiet);
    let mut rows = recall_table(&workload, &work, !args.non_causal, &bar)?;
    bar.finish_and_clear();
    if args.shard.count == 1 {
        mark_pareto(&mut rows);
    }
    println!(
        "{} | {} tokens, {} heads ({} kv), head dim {}, {}, seed {}",
        workload.name,
        workload.seq_len(),
        workload.heads(),
        workload.kv_heads(),
        workload.head_dim(),
        if args.non_causal { "full" } else { "causal" },
        workload.seed
    );
    println!("{}", render_table(&rows));
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

#[derive(Tabled)]
struct DisplayRow {
    method: String,
    budget: String,
    density: String,
    #[tabled(rename = "work speedup")]
    work_speedup: String,
    #[tabled(rename = "speedup")]
    speedup: String,
    #[tabled(rename = "recall mean")]
    recall_mean: String,
    #[tabled(rename = "recall min")]
    recall_min: String,
    #[tabled(rename = "out rel err")]
    out_rel_err: String,
    #[tabled(rename = "est GFLOP")]
    est_gflop: String,
    pareto: String,
}

/// The budget as a table shows it: what ran, and the configured value when a
/// default was capped to the sequence.
pub fn budget_label(params: &str, params_used: &str) -> String {
    match (params_used.is_empty(), params == params_used) {
        (true, _) => "-".into(),
        (false, true) => params_used.to_string(),
        (false, false) => format!("{params_used} (default {params} capped)"),
    }
}

/// The rows as a terminal table. `work speedup` is dense attention FLOPs over the method's (a proxy, not a
/// timing); `speedup` is the one the Pareto marks use (measured, else predicted by the roofline, with its
/// source); `pareto` is `*` on the workload's recall-versus-speedup front, `?` where unknown (a shard).
pub fn render_table(rows: &[RecallRow]) -> String {
    let display: Vec<DisplayRow> = rows
        .iter()
        .map(|r| DisplayRow {
            method: r.method.clone(),
            budget: budget_label(&r.params, &r.params_used),
            density: format!("{:.3}", r.density),
            work_speedup: format!("{:.2}x", r.work_speedup),
            speedup: match r.speedup {
                Some(v) => format!("{v:.2}x ({})", r.speedup_source),
                None => "-".into(),
            },
            recall_mean: format!("{:.4}", r.recall_mean),
            recall_min: format!("{:.4}", r.recall_min),
            out_rel_err: format!("{:.2e}", r.out_rel_err),
            est_gflop: format!("{:.3}", r.est_flops / 1e9),
            pareto: match r.pareto {
                Some(true) => "*".into(),
                Some(false) => String::new(),
                None => "?".into(),
            },
        })
        .collect();
    Table::new(display).with(Style::markdown()).to_string()
}
