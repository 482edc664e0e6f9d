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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// How much of the attention each method keeps, computed on the CPU.
    Recall(commands::recall::RecallArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<()> = match &cli.command {
        Command::Recall(args) => commands::recall::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
