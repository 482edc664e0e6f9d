//! The recall-versus-budget computation: one shared dense pass, then each
//! method's selection and a masked pass, compared against dense.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sparselab_kernels::mask::attended_pairs;
use sparselab_kernels::method::{Method, SelectionContext};
use sparselab_kernels::metrics::{output_relative_error, recall};
use sparselab_kernels::reference::{attention, AttentionOutput, Precision, ReferenceOptions};
use sparselab_kernels::Mask;
use sparselab_workloads::Workload;
use std::time::Instant;

use crate::provenance::Provenance;

/// One row of the recall table (and of its CSV).
#[derive(Debug, Clone, Serialize)]
pub struct RecallRow {
    /// Workload, e.g. `synthetic:vertical-slash`.
    pub workload: String,
    /// Registered method name.
    pub method: String,
    /// The parameters as configured (the method's label).
    pub params: String,
    /// The parameters the selection used: `params` with defaults capped to the sequence.
    pub params_used: String,
    /// Tokens.
    pub seq_len: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Head dimension.
    pub head_dim: usize,
    /// Causal (prefill) attention.
    pub causal: bool,
    /// Executed pairs after tile rounding over attended pairs.
    pub density: f64,
    /// Pairs the mask keeps (exact) over attended pairs.
    pub kept_density: f64,
    /// Mean over rows of the share of dense softmax mass kept.
    pub recall_mean: f64,
    /// Worst row's share.
    pub recall_min: f64,
    /// `||O - O_dense|| / ||O_dense||`.
    pub out_rel_err: f64,
    /// Estimation FLOPs the method spends choosing its mask.
    pub est_flops: f64,
    /// Estimation bytes.
    pub est_bytes: f64,
    /// Wall time of the CPU selection (not a GPU speed claim).
    pub select_cpu_ms: f64,
    /// Workload seed.
    pub seed: u64,
    /// Commit of the sources that computed the row.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
    /// Device that computed it.
    pub device: String,
    /// GPU driver, or `none`.
    pub driver: String,
    /// CUDA version, or `none`.
    pub cuda: String,
}

/// Computes one row per method on `workload`, sharing the dense pass.
/// Shows a progress bar on stderr when `progress` is set.
pub fn recall_table(
    workload: &Workload,
    methods: &[Box<dyn Method>],
    causal: bool,
    progress: bool,
) -> Result<Vec<RecallRow>> {
    let bar = if progress {
        let bar = ProgressBar::new(methods.len() as u64 + 1);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    bar.set_message("dense reference pass");
    let dense_mask = Mask::Dense(sparselab_kernels::mask::DenseMask {
        heads: workload.heads(),
        seq_len: workload.seq_len(),
        causal,
    });
    let want_block_lse = methods.iter().any(|m| m.needs_dense_reference());
    let dense = attention(
        workload,
        &dense_mask,
        &ReferenceOptions {
            precision: Precision::F32,
            block_lse: want_block_lse,
        },
    )
    .context("dense reference pass")?;
    bar.inc(1);

    let provenance = Provenance::cpu();
    let pairs = attended_pairs(workload.heads(), workload.seq_len(), causal) as f64;
    let mut rows = Vec::with_capacity(methods.len());
    for method in methods {
        bar.set_message(method.label());
        let ctx = SelectionContext {
            workload,
            causal,
            dense: Some(&dense),
        };
        let started = Instant::now();
        let selection = method
            .select(&ctx)
            .with_context(|| format!("method {}", method.label()))?;
        let select_cpu_ms = started.elapsed().as_secs_f64() * 1e3;
        let masked_storage;
        let masked: &AttentionOutput = if matches!(selection.mask, Mask::Dense(_)) {
            &dense
        } else {
            masked_storage = attention(workload, &selection.mask, &ReferenceOptions::default())
                .with_context(|| format!("masked pass of {}", method.label()))?;
            &masked_storage
        };
        let r = recall(&dense, masked);
        let kept: f64 = masked.kept.iter().map(|&k| k as f64).sum();
        rows.push(RecallRow {
            workload: workload.name.clone(),
            method: method.name().to_string(),
            params: method.params(),
            params_used: method.effective_params(workload.seq_len()),
            seq_len: workload.seq_len(),
            heads: workload.heads(),
            kv_heads: workload.kv_heads(),
            head_dim: workload.head_dim(),
            causal,
            density: selection.mask.density(),
            kept_density: kept / pairs,
            recall_mean: r.mean,
            recall_min: r.min,
            out_rel_err: output_relative_error(&dense, masked),
            est_flops: selection.estimation.flops,
            est_bytes: selection.estimation.bytes,
            select_cpu_ms,
            seed: workload.seed,
            git_commit: provenance.git_commit.clone(),
            date: provenance.date.clone(),
            device: provenance.device.clone(),
            driver: provenance.driver.clone(),
            cuda: provenance.cuda.clone(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(rows)
}
