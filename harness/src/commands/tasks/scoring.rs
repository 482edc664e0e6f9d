//! Running each method on a task workload: select a mask, then attention at the
//! task's probe rows. Shared by `tasks mqar` and `tasks niah`.

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use sparselab_kernels::mask::DenseMask;
use sparselab_kernels::method::{Method, SelectionContext};
use sparselab_kernels::reference::{attention, AttentionOutput, ReferenceOptions};
use sparselab_kernels::Mask;
use sparselab_workloads::tasks::Probe;
use sparselab_workloads::Workload;

use super::probe::attention_at;

/// What one method produced on one task workload.
#[derive(Debug, Clone)]
pub struct MethodOutput {
    /// Registered name.
    pub name: String,
    /// Canonical parameters (the budget).
    pub params: String,
    /// The parameters the selection used (defaults capped to the sequence).
    pub params_used: String,
    /// Executed pairs after tile rounding over causal pairs.
    pub density: f64,
    /// FLOPs the method spent choosing its mask.
    pub est_flops: f64,
    /// Attention output at the probes, `[probes, head_dim]`.
    pub outputs: Vec<f32>,
}

/// A method that could not run at this size (e.g. a budget longer than the
/// sequence), with the reason; callers report it and go on with the others.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// `name:params`.
    pub label: String,
    /// The error, with its causes.
    pub reason: String,
}

/// Runs every method on `w` (causal) and reads the outputs at `probes`. The dense
/// reference pass (with per-block log-sum-exp) runs only when an oracle needs it.
/// `bar` advances by one per method.
pub fn run_methods(
    w: &Workload,
    methods: &[Box<dyn Method>],
    probes: &[Probe],
    bar: &ProgressBar,
) -> Result<(Vec<MethodOutput>, Vec<Skipped>)> {
    let dense_mask = Mask::Dense(DenseMask {
        heads: w.heads(),
        seq_len: w.seq_len(),
        causal: true,
    });
    let dense: Option<AttentionOutput> = if methods.iter().any(|m| m.needs_dense_reference()) {
        bar.set_message(format!(
            "dense reference pass at {} tokens (for the oracles)",
            w.seq_len()
        ));
        let opts = ReferenceOptions {
            block_lse: true,
            ..ReferenceOptions::default()
        };
        Some(attention(w, &dense_mask, &opts).context("dense reference pass for the oracle methods")?)
    } else {
        None
    };
    bar.tick();
    let ctx = SelectionContext {
        workload: w,
        causal: true,
        dense: dense.as_ref(),
    };
    let mut done = Vec::with_capacity(methods.len());
    let mut skipped = Vec::new();
    for method in methods {
        bar.set_message(format!("{} at {} tokens", method.label(), w.seq_len()));
        match method.select(&ctx) {
            Ok(selection) => {
                let outputs = attention_at(w, &selection.mask, probes)
                    .with_context(|| format!("attention under the mask of {}", method.label()))?;
                done.push(MethodOutput {
                    name: method.name().to_string(),
                    params: method.params(),
                    params_used: method.effective_params(w.seq_len()),
                    density: selection.mask.density(),
                    est_flops: selection.estimation.flops,
                    outputs,
                });
            }
            Err(e) => skipped.push(Skipped {
                label: method.label(),
                reason: format!("{e:#}"),
            }),
        }
        bar.inc(1);
    }
    Ok((done, skipped))
}
