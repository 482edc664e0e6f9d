//! The `sparselab` command line.

mod commands;
mod compare;
mod output;
mod pareto;
mod plot;
mod provenance;
mod roofline_work;
mod shard;
mod study;
mod synthetic_args;

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
    /// The registered methods with their parameters and defaults.
    Methods(commands::methods::MethodsArgs),
    /// Task accuracy under each method's mask: MQAR (Zoology) and needle in a haystack (RULER-style).
    Tasks(commands::tasks::TasksArgs),
    /// Save generated workloads as .safetensors or .npy, inspect users' Q/K/V files.
    Workloads(commands::workloads::WorkloadsArgs),
    /// Time the GPU attention kernels (CUDA events; median, p10, p90) and write a CSV with provenance.
    Bench(commands::bench::BenchArgs),
    /// A BDWP N:M sparse training step on the accelerator model: cycles, stalls, DRAM and energy per layer
    /// and pass, and the speedup over dense training on the same hardware.
    Simulate(commands::simulate::SimulateArgs),
    /// A paper's published figures beside ours (measured or predicted), with the ratio and sources.
    Reproduce(commands::reproduce::ReproduceArgs),
    /// Regressions between two result CSVs: timings tested for significance (Welch's t-test on
    /// `samples_ms`), deterministic outputs compared exactly; exits with 0 when nothing regressed, 1 on a
    /// slowdown or a change, 2 on an error.
    Compare(commands::compare::CompareArgs),
    /// Join the CSVs of a sharded run (`--shard i/n`) into one, in the unsharded order.
    Merge(commands::merge::MergeArgs),
    /// What-if sweeps: vary the hardware (accelerator model) and see how each speedup moves.
    Sweep(commands::sweep::SweepArgs),
    /// Predicted time of each method on a GPU (A100, H100, H200 or a TOML preset, `--scale` what-ifs):
    /// FLOPs, bytes, bound, speedup over dense; `--paper minference` predicts the paper's A100 table.
    Roofline(commands::roofline::RooflineArgs),
    /// Measure this GPU's sustained ceilings (bf16 GEMM, copy, our dense attention) and write a roofline preset.
    Calibrate(commands::calibrate::CalibrateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<()> = match &cli.command {
        None => commands::run::RunArgs::from_defaults().and_then(|args| commands::run::run(&args)),
        Some(Command::Run(args)) => commands::run::run(args),
        Some(Command::Recall(args)) => commands::recall::run(args),
        Some(Command::Methods(args)) => commands::methods::run(args),
        Some(Command::Tasks(args)) => commands::tasks::run(args),
        Some(Command::Workloads(args)) => commands::workloads::run(args),
        Some(Command::Bench(args)) => commands::bench::run(args),
        Some(Command::Simulate(args)) => commands::simulate::run(args),
        // Its own exit codes: 0 same, 1 regression, 2 error.
        Some(Command::Compare(args)) => return commands::compare::main(args),
        Some(Command::Merge(args)) => commands::merge::run(args),
        Some(Command::Reproduce(args)) => commands::reproduce::run(args),
        Some(Command::Sweep(args)) => commands::sweep::run(args),
        Some(Command::Roofline(args)) => commands::roofline::run(args),
        Some(Command::Calibrate(args)) => commands::calibrate::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
