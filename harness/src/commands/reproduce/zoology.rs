//! Zoology (Arora et al., arXiv 2312.04927): attention solves MQAR. Ours: the
//! dense attention of the constructed induction-head solver on MQAR generated as
//! Zoology's `multiquery_ar`, at the paper's four (length, pairs) configurations.

use anyhow::{Context, Result};
use sparselab_kernels::method::parse_methods;
use sparselab_workloads::tasks::{MqarConfig, MqarSolver, MqarTask};

use super::papers::figure;
use super::row::{Origin, ReproduceRow};
use crate::commands::tasks::scoring::run_methods;
use crate::provenance::Provenance;

const PAPER: &str = "zoology";
/// Zoology's MQAR configurations (tokens, key-value pairs).
const CONFIGS: [(usize, usize); 4] = [(64, 4), (128, 8), (256, 16), (512, 64)];
/// Sequences per configuration.
const EXAMPLES: usize = 64;

/// Dense attention's MQAR accuracy beside the paper's at each configuration.
pub fn rows(seed: u64) -> Result<Vec<ReproduceRow>> {
    let prov = Provenance::cpu();
    let origin = Origin::Measured(prov.device.clone());
    let dense = parse_methods("dense")?;
    let mut rows = Vec::new();
    for (seq_len, pairs) in CONFIGS {
        let fig = figure(
            PAPER,
            "MQAR accuracy of attention",
            &format!("L={seq_len} pairs={pairs}"),
        )?;
        let task = MqarTask::build(&MqarConfig::new(seq_len, pairs), EXAMPLES, &MqarSolver::default(), seed)
            .with_context(|| format!("building MQAR at {seq_len} tokens, {pairs} pairs"))?;
        let (outputs, _) = run_methods(
            &task.workload,
            &dense,
            &task.probes(),
            &indicatif::ProgressBar::hidden(),
        )?;
        let output = outputs.first().context("the dense method produced no output")?;
        let score = task.score(&output.outputs)?;
        let note = "ours is a constructed one-layer induction-head solver (weights set by hand), not a trained model: \
                    it shows that attention's retrieval, not training, carries the task";
        rows.push(ReproduceRow::new(PAPER, &fig, score.accuracy, &origin, note, &prov));
    }
    Ok(rows)
}
