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
    /// Methods and budgets.
    #[arg(long, default_value = "all")]
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

/// Runs the default study.
pub fn run(args: &RunArgs) -> Result<()> {
    let methods = parse_methods(&args.methods)?;
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
