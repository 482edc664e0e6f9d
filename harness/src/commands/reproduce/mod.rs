//! `sparselab reproduce <paper>`: runs what is needed to put our numbers beside a
//! paper's published ones (kept with their sources in `results/papers/*.csv`), with
//! the ratio and whether ours was measured (on which device) or predicted (by which
//! model).

pub mod papers;
pub mod row;
mod sat_bdwp;
mod xattention;
mod zoology;

use anyhow::{Context, Result};
use std::path::PathBuf;

use crate::output::write_csv;
use row::{render, ReproduceRow};

/// Papers `reproduce` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Paper {
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
        Paper::All => vec![Paper::Xattention, Paper::SatBdwp, Paper::Zoology],
        one => vec![one],
    };
    let quiet = args.quiet;
    let progress = move |msg: &str| {
        if !quiet {
            eprintln!("{msg}");
        }
    };
    let mut all: Vec<ReproduceRow> = Vec::new();
    for paper in &papers {
        let rows = match paper {
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
