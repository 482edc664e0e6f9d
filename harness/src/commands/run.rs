//! `sparselab run` (and `sparselab` with no arguments): the default study.
//!
//! Today it computes the recall-versus-budget table of every method at its
//! default budgets on a `llama-like` synthetic workload on the CPU, prints it,
//! and writes `recall.csv` and `report.md` into a new run folder.

use anyhow::{Context, Result};
use std::path::PathBuf;

use crate::commands::recall::render_table;
use crate::output::{write_atomic, write_csv};
use crate::provenance::utc_now;
use crate::study::recall::recall_table;
use sparselab_kernels::method::parse_methods;
use sparselab_workloads::synthetic::{generate, SyntheticSpec};

/// Arguments of `sparselab run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Folder for this run's files; default `runs/<date-time>/`.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Tokens per workload.
    #[arg(long, default_value_t = 4096)]
    pub seq_len: usize,
    /// Query heads.
    #[arg(long, default_value_t = 8)]
    pub heads: usize,
    /// Head dimension.
    #[arg(long, default_value_t = 128)]
    pub head_dim: usize,
    /// Synthetic head profile.
    #[arg(long, default_value = "llama-like")]
    pub profile: String,
    /// Methods and budgets; `ladder` (the default) runs every method at two budgets scaled to
    /// `--seq-len` (see [`budget_ladder`]), `all` at the papers' defaults.
    #[arg(long, default_value = "ladder")]
    pub methods: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl RunArgs {
    /// The arguments `sparselab` runs with when given no subcommand: clap's own
    /// defaults, so the two entry points cannot drift apart.
    pub fn from_defaults() -> Result<Self> {
        use clap::{Args, FromArgMatches};
        let command = Self::augment_args(clap::Command::new("run"));
        let matches = command
            .try_get_matches_from(["run"])
            .context("default arguments of `run`")?;
        Ok(Self::from_arg_matches(&matches)?)
    }
}

/// Shortest sequence the budget ladder is defined for (vertical-slash keeps at
/// least 30 columns and 50 diagonals).
pub const LADDER_MIN_SEQ: usize = 128;

/// Every method at two budgets scaled to `seq_len`, so that the table shows
/// recall against budget at any length (the papers' defaults, such as
/// MInference's 1000 columns + 6096 diagonals, are sized for 100k+ tokens and
/// keep everything at a few thousand). Budgets are about 1/8 and 1/4 of the
/// sequence for window and key budgets and 1/16 and 1/8 of the blocks; the
/// threshold methods run at their papers' two usual thresholds.
pub fn budget_ladder(seq_len: usize) -> String {
    let l = seq_len.max(1);
    let part = |d: usize| (l / d).max(1);
    let blocks = |block: usize, d: usize| (l.div_ceil(block) / d).max(1);
    let sink = 64.min(l);
    [
        "dense".to_string(),
        format!("a-shape:sink={sink},local={}", part(8)),
        format!("a-shape:sink={sink},local={}", part(4)),
        format!("vertical-slash:v={},s={}", part(32).max(30), part(16).max(50)),
        format!("vertical-slash:v={},s={}", part(16).max(30), part(8).max(50)),
        format!("block-topk:k={},block=64", blocks(64, 8)),
        format!("block-topk:k={},block=64", blocks(64, 4)),
        "flexprefill:gamma=0.9,tau=0.1".to_string(),
        "flexprefill:gamma=0.95,tau=0.1".to_string(),
        "xattention:tau=0.9,stride=8".to_string(),
        "xattention:tau=0.95,stride=8".to_string(),
        format!("oracle-blocks:k={},block=64", blocks(64, 8)),
        format!("oracle-blocks:k={},block=64", blocks(64, 4)),
        format!("oracle-keys:k={}", part(16)),
        format!("oracle-keys:k={}", part(8)),
    ]
    .join(",")
}

/// Runs the default study.
pub fn run(args: &RunArgs) -> Result<()> {
    let methods = if args.methods == "ladder" {
        if args.seq_len < LADDER_MIN_SEQ {
            anyhow::bail!(
                "the default budget ladder needs --seq-len >= {LADDER_MIN_SEQ} (got {}); give --methods explicitly",
                args.seq_len
            );
        }
        parse_methods(&budget_ladder(args.seq_len))?
    } else {
        parse_methods(&args.methods)?
    };
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(utc_now().replace(':', "-")));
    let spec = SyntheticSpec {
        profile: args.profile.clone(),
        seq_len: args.seq_len,
        heads: args.heads,
        kv_heads: args.heads,
        head_dim: args.head_dim,
        seed: 0,
    };
    eprintln!(
        "sparselab: default study on the CPU ({} profile, {} tokens, {} heads, head dim {}); no GPU timing in this build",
        args.profile, args.seq_len, args.heads, args.head_dim
    );
    let workload = generate(&spec).context("building the synthetic workload")?;
    let rows = recall_table(&workload, &methods, true, !args.quiet)?;
    let table = render_table(&rows);
    println!("{table}");
    let csv_path = out_dir.join("recall.csv");
    write_csv(&csv_path, &rows).with_context(|| format!("writing {}", csv_path.display()))?;
    let report = format!(
        "# sparselab run\n\n{} | {} tokens, {} heads, head dim {}, causal, seed {}\n\n\
         Recall is measured on the CPU reference; density counts executed 64x64 tiles over causal pairs.\n\n{table}\n",
        workload.name,
        workload.seq_len(),
        workload.heads(),
        workload.head_dim(),
        workload.seed
    );
    write_atomic(&out_dir.join("report.md"), report.as_bytes())?;
    println!("wrote {} and report.md in {}", csv_path.display(), out_dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_parses_and_scales_with_length() {
        for seq in [LADDER_MIN_SEQ, 300, 1000, 4096, 131_072] {
            let methods = parse_methods(&budget_ladder(seq)).expect("ladder parses");
            assert_eq!(methods.len(), 15, "seq {seq}");
        }
        assert!(budget_ladder(4096).contains("a-shape:sink=64,local=512"));
        assert!(budget_ladder(131_072).contains("oracle-keys:k=16384"));
    }
}
