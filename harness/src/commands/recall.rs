//! `sparselab recall`: the recall-versus-budget table on the CPU (being written).

use anyhow::Result;

/// Arguments of `sparselab recall`.
#[derive(Debug, clap::Args)]
pub struct RecallArgs {}

/// Runs the command.
pub fn run(_args: &RecallArgs) -> Result<()> {
    anyhow::bail!("recall is not implemented yet")
}
