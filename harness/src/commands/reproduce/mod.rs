//! `sparselab reproduce <paper>`: runs what is needed to put our numbers beside a
//! paper's published ones (kept with their sources in `results/papers/*.csv`), with
//! the ratio and whether ours was measured (on which device) or predicted (by which
//! model).

mod measured;
mod minference;
pub mod papers;
mod predicted;
pub mod row;
mod sat_bdwp;
mod seerattention;
mod xattention;
mod zoology;

use anyhow::{Context, Result};
use std::path::PathBuf;

use crate::output::write_csv;
use row::{render, ReproduceRow};

/// Papers `reproduce` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Paper {
    /// MInference's A100 prefill latency table, speedups and kernel speedups (roofline).
    Minference,
    /// SeerAttention's 5.67x block-sparse kernel speedup at 32k (roofline; measured with --measured).
    Seerattention,
    /// XAttention's selection density by length (CPU).
    Xattention,
    /// SAT/BDWP's 2:8 training speedup (accelerator model).
    SatBdwp,
    /// Zoology's MQAR accuracy of attention (CPU).
    Zoology,
    /// Every paper above.
    All,
}

/// Arguments of `sparselab reproduce`.
#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// Which paper.
    #[arg(value_enum)]
    pub paper: Paper,
    /// GPU preset for the roofline predictions (default: the paper's card, a100 for MInference; h100
    /// for SeerAttention), or a preset file written by `sparselab calibrate`.
    #[arg(long)]
    pub hardware: Option<String>,
    /// CSVs of `sparselab bench` (and the peers' scripts) whose timings to compare, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub measured: Vec<PathBuf>,
    /// Longest sequence to run on the CPU (XAttention's lengths go to 128k; selection at 128k takes minutes
    /// and several GB on a laptop).
    #[arg(long, default_value_t = 32768)]
    pub max_len: usize,
    /// Seed of the generated workloads.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the rows as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress messages on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command: computes our side of each figure, prints the table with sources, writes the CSV.
pub fn run(args: &ReproduceArgs) -> Result<()> {
    let papers = match args.paper {
        Paper::All => vec![
            Paper::Minference,
            Paper::Seerattention,
            Paper::Xattention,
            Paper::SatBdwp,
            Paper::Zoology,
        ],
        one => vec![one],
    };
    let quiet = args.quiet;
    let progress = move |msg: &str| {
        if !quiet {
            eprintln!("{msg}");
        }
    };
    let timings = measured::load(&args.measured)?;
    let mut all: Vec<ReproduceRow> = Vec::new();
    for paper in &papers {
        let rows = match paper {
            Paper::Minference => minference::rows(args.hardware.as_deref())?,
            Paper::Seerattention => seerattention::rows(args.hardware.as_deref(), &timings)?,
            Paper::Xattention => xattention::rows(args.max_len, args.seed, &progress)?,
            Paper::SatBdwp => sat_bdwp::rows()?,
            Paper::Zoology => zoology::rows(args.seed)?,
            Paper::All => Vec::new(),
        };
        if let Some(first) = rows.first() {
            println!("## {}\n", first.paper);
            println!("{}", render(&rows));
        }
        all.extend(rows);
    }
    if let Some(path) = &args.out {
        write_csv(path, &all).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", all.len(), path.display());
    }
    Ok(())
}
