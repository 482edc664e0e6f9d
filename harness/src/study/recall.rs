//! The recall-versus-budget computation: one shared dense pass, then each
//! method's selection and a masked pass, compared against dense; the speed of each
//! mask (FLOP proxy `work_speedup`, roofline, accelerator model, GPU when present: see
//! [`super::speed`]) and the Pareto marks of the rows.

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

use super::speed::SpeedModels;
use crate::pareto::pareto_front_by_group;
use crate::provenance::Provenance;

/// Columns that identify a workload in a recall CSV: Pareto fronts are taken within each.
pub const WORKLOAD_COLUMNS: [&str; 7] = ["workload", "seq_len", "heads", "kv_heads", "head_dim", "causal", "seed"];
/// The recall coordinate of the Pareto front.
pub const PARETO_RECALL: &str = "recall_mean";
/// The speed coordinate of the Pareto front: `measured_speedup` where the GPU timed the row, else
/// `predicted_speedup` (the row's `speedup_source` says which).
pub const PARETO_SPEED: &str = "speedup";

/// One row of the recall table (and of its CSV).
#[derive(Debug, Clone, Serialize)]
pub struct RecallRow {
    /// Position of this row in the unsharded work list (orders merged shards).
    pub work_index: usize,
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
    /// Speed proxy, not a timing: dense attention FLOPs over the method's (executed tiles plus its
    /// estimation FLOPs); ignores memory traffic and kernel efficiency.
    pub work_speedup: f64,
    /// Roofline time of the mask plus the method's estimation on the GPU preset, ms.
    pub predicted_ms: Option<f64>,
    /// Roofline dense time (same preset and kernel model) over `predicted_ms`.
    pub predicted_speedup: Option<f64>,
    /// Accelerator-model cycles of dense QK^T and PV over the mask's (estimation not included); empty
    /// where the model was not run or the mask is too large to simulate quickly.
    pub accel_speedup: Option<f64>,
    /// Median CUDA-event time of our kernel on the mask, ms (kernel only); empty without a GPU or a
    /// kernel for the mask's format.
    pub measured_ms: Option<f64>,
    /// Measured dense time over `measured_ms`.
    pub measured_speedup: Option<f64>,
    /// The speedup the Pareto marks and charts use: `measured_speedup` when present, else
    /// `predicted_speedup`.
    pub speedup: Option<f64>,
    /// `measured` or `predicted`: where `speedup` comes from.
    pub speedup_source: String,
    /// Mean over rows of the share of dense softmax mass kept.
    pub recall_mean: f64,
    /// Worst row's share.
    pub recall_min: f64,
    /// No other row of the same workload has both more recall and more `speedup` (see
    /// [`mark_pareto`]); empty in a shard's CSV, where the other rows are unknown (`merge` sets it).
    pub pareto: Option<bool>,
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

/// A progress bar on stderr of `len` steps (drawn only when stderr is a terminal); hidden unless `enabled`.
pub fn progress_bar(len: usize, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Computes one row per work item `(position in the unsharded work list, method)` on `workload`,
/// sharing the dense pass (skipped when `work` is empty). Advances `bar` once for the dense pass and
/// once per method. Speed: the roofline alone (H100 preset, [`super::speed::DEFAULT_KERNEL`]); see
/// [`recall_table_with`]. Pareto marks are left empty: see [`mark_pareto`].
pub fn recall_table(
    workload: &Workload,
    work: &[(usize, &dyn Method)],
    causal: bool,
    bar: &ProgressBar,
) -> Result<Vec<RecallRow>> {
    let mut speed = SpeedModels::roofline_only()?;
    let rows = recall_table_with(workload, work, causal, bar, &mut speed)?;
    for note in &speed.notes {
        eprintln!("note: {note}");
    }
    Ok(rows)
}

/// [`recall_table`] with the speed figures of `speed` (roofline, accelerator model, GPU timing).
pub fn recall_table_with(
    workload: &Workload,
    work: &[(usize, &dyn Method)],
    causal: bool,
    bar: &ProgressBar,
    speed: &mut SpeedModels,
) -> Result<Vec<RecallRow>> {
    if work.is_empty() {
        return Ok(Vec::new());
    }
    let shape = format!("{} L={}", workload.name, workload.seq_len());
    bar.set_message(format!("{shape}: dense reference pass"));
    let dense_mask = Mask::Dense(sparselab_kernels::mask::DenseMask {
        heads: workload.heads(),
        seq_len: workload.seq_len(),
        causal,
    });
    let want_block_lse = work.iter().any(|(_, m)| m.needs_dense_reference());
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
    // Attention FLOPs per executed pair: QK^T and PV, a multiply and an add each per dimension.
    let flops_per_pair = 4.0 * workload.head_dim() as f64;
    let dense_flops = dense_mask.density() * pairs * flops_per_pair;
    let mut rows = Vec::with_capacity(work.len());
    for &(work_index, method) in work {
        bar.set_message(format!("{shape}: {}", method.label()));
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
        let method_flops = selection.mask.density() * pairs * flops_per_pair + selection.estimation.flops;
        bar.set_message(format!("{shape}: {} (speed models)", method.label()));
        let s = speed.row(workload, &selection.mask, &selection.estimation);
        let (speedup, source) = s.speedup();
        rows.push(RecallRow {
            work_index,
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
            work_speedup: dense_flops / method_flops,
            predicted_ms: s.predicted_ms,
            predicted_speedup: s.predicted_speedup,
            accel_speedup: s.accel_speedup,
            measured_ms: s.measured_ms,
            measured_speedup: s.measured_speedup,
            speedup,
            speedup_source: source.to_string(),
            recall_mean: r.mean,
            recall_min: r.min,
            pareto: None,
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
    Ok(rows)
}

/// Sets every row's `pareto` mark: on the front of (`recall_mean`, `speedup`) among the rows of its
/// workload (same name, shape, masking and seed), across all methods and budgets. A row without a
/// speedup is never on the front. `merge` sets the same marks from the CSV columns [`PARETO_RECALL`]
/// and [`PARETO_SPEED`].
pub fn mark_pareto(rows: &mut [RecallRow]) {
    let points: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r.recall_mean, r.speedup.unwrap_or(f64::NAN)))
        .collect();
    let groups: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                &r.workload,
                r.seq_len,
                r.heads,
                r.kv_heads,
                r.head_dim,
                r.causal,
                r.seed,
            )
        })
        .collect();
    let marks = pareto_front_by_group(&points, &groups);
    for (row, mark) in rows.iter_mut().zip(marks) {
        row.pareto = Some(mark);
    }
}
