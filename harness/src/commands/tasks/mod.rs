//! `sparselab tasks`: what sparse masks lose on tasks with right answers.
//!
//! | subcommand | task | score |
//! |---|---|---|
//! | `mqar` | Zoology's multi-query associative recall, solved by a constructed induction head | accuracy, overall and by key-to-query distance |
//! | `niah` | RULER-style needles planted in a synthetic haystack, over lengths x depths | fraction of needles retrieved; table, CSV, heat map |
//!
//! Each method selects its mask on the task's Q/K/V (causal), attention runs
//! under the mask at the rows the task reads ([`probe`]), and the task decodes
//! the answers from those outputs.

pub mod mqar;
pub mod niah;
pub mod probe;
pub mod scoring;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use scoring::Skipped;

/// Arguments of `sparselab tasks`.
#[derive(Debug, clap::Args)]
pub struct TasksArgs {
    /// Which task.
    #[command(subcommand)]
    pub task: TaskCommand,
}

/// The tasks.
#[derive(Debug, clap::Subcommand)]
pub enum TaskCommand {
    /// Multi-query associative recall (Zoology): accuracy per method, by key-to-query distance.
    Mqar(mqar::MqarArgs),
    /// Needle in a haystack (RULER-style): retrieval per method over lengths x depths.
    Niah(niah::NiahArgs),
}

/// Runs the chosen task.
pub fn run(args: &TasksArgs) -> Result<()> {
    match &args.task {
        TaskCommand::Mqar(a) => mqar::run(a),
        TaskCommand::Niah(a) => niah::run(a),
    }
}

/// A progress bar of `steps` on stderr, or a hidden one.
pub(crate) fn progress_bar(show: bool, steps: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Tells the user on stderr which methods could not run at this length, and why.
pub(crate) fn report_skipped(skipped: &[Skipped], seq_len: usize) {
    for s in skipped {
        eprintln!("skipped {} at {seq_len} tokens: {}", s.label, s.reason);
    }
}

#[cfg(test)]
mod tests;
