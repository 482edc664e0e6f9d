//! Recall, output error and density of a masked attention against dense.

use crate::reference::AttentionOutput;

/// Attention-mass recall over rows: the share of each row's softmax mass (under
/// dense attention) that the mask keeps, `exp(lse_masked - lse_dense)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecallSummary {
    /// Mean over rows (and heads).
    pub mean: f64,
    /// Worst row.
    pub min: f64,
}

/// Per-row recall; rows that keep nothing have recall 0. Values are clamped to
/// at most 1 (a masked lse can exceed the dense one only by rounding).
pub fn recall_per_row(dense: &AttentionOutput, masked: &AttentionOutput) -> Vec<f64> {
    dense
        .lse
        .iter()
        .zip(&masked.lse)
        .map(|(&d, &m)| {
            if m == f64::NEG_INFINITY {
                0.0
            } else {
                (m - d).exp().min(1.0)
            }
        })
        .collect()
}

/// Mean and minimum of [`recall_per_row`].
pub fn recall(dense: &AttentionOutput, masked: &AttentionOutput) -> RecallSummary {
    let rows = recall_per_row(dense, masked);
    let mean = rows.iter().sum::<f64>() / rows.len().max(1) as f64;
    let min = rows.iter().cloned().fold(f64::INFINITY, f64::min);
    RecallSummary {
        mean,
        min: if rows.is_empty() { 0.0 } else { min },
    }
}

/// Relative Frobenius error of the masked output against dense:
/// `||O_mask - O_dense|| / ||O_dense||`.
pub fn output_relative_error(dense: &AttentionOutput, masked: &AttentionOutput) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&d, &m) in dense.out.data().iter().zip(masked.out.data()) {
        num += (m as f64 - d as f64).powi(2);
        den += (d as f64).powi(2);
    }
    if den == 0.0 {
        return if num == 0.0 { 0.0 } else { f64::INFINITY };
    }
    (num / den).sqrt()
}
