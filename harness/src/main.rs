//! The `sparselab` command line.

mod commands;
mod output;
mod provenance;
mod study;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Recall-versus-speed tables for sparse attention.
#[derive(Debug, Parser)]
#[command(name = "sparselab", version, about, long_about = None)]
struct Cli {
    /// Without a subcommand, runs the default study (`sparselab run`).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The default study: every method on a synthetic workload, written to a new run folder.
    Run(commands::run::RunArgs),
    /// How much of the attention each method keeps, computed on the CPU.
    Recall(commands::recall::RecallArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<()> = match &cli.command {
        None => commands::run::RunArgs::from_defaults().and_then(|args| commands::run::run(&args)),
        Some(Command::Run(args)) => commands::run::run(args),
        Some(Command::Recall(args)) => commands::recall::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
