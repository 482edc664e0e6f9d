//! MInference's vertical-slash pattern with its last-64-query estimation
//! (arXiv 2407.02490, Algorithm 2; `vertical_slash_sparse_attention` in
//! microsoft/MInference).
//!
//! Per head: `A = softmax(Q[-64:] K^T / sqrt(d))` in f32 with the causal mask
//! on the last tile; the column sums of `A` score vertical lines, the sums along
//! each diagonal (offset `q - k`) score slash lines; the top `v` columns and the
//! top `s` diagonals are kept. As in MInference the first 30 columns and the
//! 100 most local diagonals get infinite scores, so they are always among the
//! kept ones (when `s < 100`, the `s` most local diagonals are kept).

use super::checks::{nonzero, require_causal, Budget};
use super::cost::{self, SOFTMAX_FLOPS};
use super::params::Params;
use super::scoring::last_queries_attention;
use super::topk::top_k;
use super::{EstimationCost, Method, Selection, SelectionContext};
use crate::error::Result;
use crate::mask::{num_blocks, Mask, VerticalSlashMask, VS_BLOCK};
use rayon::prelude::*;

const NAME: &str = "vertical-slash";
/// Queries the estimate looks at (MInference's `last_q`).
pub const LAST_QUERIES: usize = 64;
/// Leading columns always kept (attention sinks).
pub const FORCED_COLUMNS: usize = 30;
/// Most local diagonals always kept.
pub const FORCED_DIAGONALS: usize = 100;
/// Smallest vertical budget; smaller ones are raised to it, as MInference does.
pub const MIN_VERTICALS: usize = 30;
/// Smallest slash budget; smaller ones are raised to it, as MInference does.
pub const MIN_SLASHES: usize = 50;

/// Vertical-slash selection with `v` columns and `s` diagonals per head.
///
/// Budgets below [`MIN_VERTICALS`] / [`MIN_SLASHES`] are raised to them at
/// selection (the label keeps the value given); budgets given above the
/// sequence length are an error, default ones are capped to it. Causal
/// attention only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerticalSlash {
    v: Budget,
    s: Budget,
}

impl VerticalSlash {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 2] = ["v", "s"];

    /// `v` vertical columns and `s` slash diagonals per head (each at least 1).
    pub fn new(v: usize, s: usize) -> Result<Self> {
        Self::with_budgets(Budget::given(v), Budget::given(s))
    }

    fn with_budgets(v: Budget, s: Budget) -> Result<Self> {
        nonzero(NAME, "v", v.value)?;
        nonzero(NAME, "s", s.value)?;
        Ok(Self { v, s })
    }

    /// From `v=..,s=..` (defaults 1000 and 6096, MInference's most common budget).
    pub fn from_params(mut p: Params) -> Result<Self> {
        let v = Budget::read(&mut p, "v", 1000)?;
        let s = Budget::read(&mut p, "s", 6096)?;
        p.finish(&Self::PARAMS)?;
        Self::with_budgets(v, s)
    }

    /// Budgets `(v, s)` used on `seq_len` tokens: raised to the minimums,
    /// capped at the sequence. Errors when a given budget exceeds the sequence.
    pub fn effective_budgets(&self, seq_len: usize) -> Result<(usize, usize)> {
        let v = self.v.tokens(NAME, "v", seq_len)?;
        let s = self.s.tokens(NAME, "s", seq_len)?;
        Ok((v.max(MIN_VERTICALS).min(seq_len), s.max(MIN_SLASHES).min(seq_len)))
    }
}

/// Column and diagonal scores of one head: `(vertical[k], slash[q - k])`.
fn line_scores(attn: &[f32], seq: usize, last: usize) -> (Vec<f32>, Vec<f32>) {
    let mut vertical = vec![0.0f32; seq];
    let mut slash = vec![0.0f32; seq];
    for (i, row) in attn.chunks(seq).enumerate() {
        let query = seq - last + i;
        for (key, &p) in row[..=query].iter().enumerate() {
            vertical[key] += p;
            slash[query - key] += p;
        }
    }
    (vertical, slash)
}

impl Method for VerticalSlash {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        format!("v={},s={}", self.v.value, self.s.value)
    }
    fn effective_params(&self, seq_len: usize) -> String {
        match self.effective_budgets(seq_len) {
            Ok((v, s)) => format!("v={v},s={s}"),
            Err(_) => self.params(),
        }
    }
    /// Errors when not causal or when a given `v` or `s` exceeds the sequence length.
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        require_causal(NAME, ctx.causal)?;
        let w = ctx.workload;
        let (heads, seq, dim) = (w.heads(), w.seq_len(), w.head_dim());
        let (v, s) = self.effective_budgets(seq)?;
        let last = LAST_QUERIES.min(seq);
        let lines: Vec<(Vec<u32>, Vec<u32>)> = (0..heads)
            .into_par_iter()
            .map(|h| {
                let attn = last_queries_attention(w, h, last);
                let (mut vertical, mut slash) = line_scores(&attn, seq, last);
                vertical[..FORCED_COLUMNS.min(seq)].fill(f32::INFINITY);
                slash[..FORCED_DIAGONALS.min(seq)].fill(f32::INFINITY);
                (top_k(&vertical, v), top_k(&slash, s))
            })
            .collect();
        let (verticals, slashes): (Vec<_>, Vec<_>) = lines.into_iter().unzip();
        let mask = VerticalSlashMask::new(heads, seq, verticals, slashes)?;

        let scores = (last * seq) as f64;
        let row_blocks = num_blocks(seq, VS_BLOCK);
        let per_head = cost::cost(
            cost::gemm(last, seq, dim) + scores * (SOFTMAX_FLOPS + 2.0) + 2.0 * cost::sort(seq),
            cost::read_rows(seq, dim) + cost::read_rows(last, dim) + cost::write_indices(v + s),
        ) + cost::cost(
            // MInference's index conversion: a merge of v + s entries per 64-row block,
            // writing counts, block offsets and column indices.
            (row_blocks * (v + s)) as f64,
            cost::write_indices(row_blocks * (2 + v + s)),
        );
        Ok(Selection {
            mask: Mask::VerticalSlash(mask),
            estimation: EstimationCost {
                flops: per_head.flops * heads as f64,
                bytes: per_head.bytes * heads as f64,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_scores_sum_columns_and_diagonals() {
        // 3 tokens, last 2 queries (rows for q = 1, 2).
        let attn = [0.25, 0.75, 0.0, 0.2, 0.3, 0.5];
        let (v, s) = line_scores(&attn, 3, 2);
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(&v, &[0.45, 1.05, 0.5]), "{v:?}");
        // q=1: k=1 -> 0, k=0 -> 1; q=2: k=2 -> 0, k=1 -> 1, k=0 -> 2
        assert!(close(&s, &[0.75 + 0.5, 0.25 + 0.3, 0.2]), "{s:?}");
    }

    #[test]
    fn small_budgets_are_raised_and_large_ones_capped() {
        let m = VerticalSlash::new(1, 2).unwrap();
        assert_eq!(m.effective_budgets(1000).unwrap(), (30, 50));
        assert_eq!(m.effective_budgets(40).unwrap(), (30, 40));
        assert!(VerticalSlash::new(41, 50).unwrap().effective_budgets(40).is_err());
        assert!(VerticalSlash::new(0, 60).is_err());
    }
}
