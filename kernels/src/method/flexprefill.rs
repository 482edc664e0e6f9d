//! FlexPrefill (Lai et al., ICLR 2025, arXiv 2502.20766): per head, choose
//! between a query-aware block pattern and a vertical-slash pattern, then keep
//! the smallest index set whose estimated attention reaches `gamma`.
//!
//! Rules, from the paper's Algorithms 1-4 and ByteDance-Seed/FlexPrefill's
//! `get_active_blocks`:
//! 1. **Estimate** from the last `block` queries: `A = softmax(Q[-b:] K^T / sqrt(d))`
//!    (f32, causal on the last tile). Its row-mean over key blocks is the true
//!    block distribution `a`; the pooled estimate is `â = softmax(mean(Q[-b:]) .
//!    pool(K)^T / sqrt(d))` over key blocks.
//! 2. **Pattern**: the Jensen-Shannon distance `sqrt(JS(â, a))` (natural log)
//!    below `tau` means pooled scores are trustworthy for this head: it is
//!    *query-aware*; otherwise it is *vertical-slash*.
//! 3. **Query-aware** (Algorithm 4): `softmax` over key blocks of
//!    `pool(Q) pool(K)^T / sqrt(d)` per query block under the block-causal mask,
//!    flattened over all query blocks and normalised to sum 1; blocks are taken
//!    in descending order until the cumulative mass reaches `gamma`. The paper
//!    and the official code select over the whole flattened map, not per query
//!    block, so a query block may keep only the always-kept blocks.
//! 4. **Vertical-slash** (Algorithm 3): from the row-mean of `A`, the columns and
//!    the diagonals each sorted by score; the smallest sets whose cumulative
//!    score reaches `gamma` are kept, and every block that a kept column or
//!    diagonal passes through is computed. (The official code instead converts
//!    the count of needed tokens to a count of blocks and picks the blocks with
//!    the largest pooled scores; we keep the paper's token sets, so every
//!    selected line is inside the mask.)
//! 5. The first key block and the diagonal block are always kept.
//! 6. Sequences of at most two blocks run dense, as in the official code.

use super::checks::{block_size, fraction, require_causal, supported_block, unit_interval};
use super::cost::{self, SOFTMAX_FLOPS};
use super::params::Params;
use super::scoring::{gemm_abt, last_queries_attention, mean_pool, softmax_in_place};
use super::topk::cumulative_cover;
use super::{EstimationCost, Method, Selection, SelectionContext};
use crate::error::Result;
use crate::mask::{num_blocks, BlockSparseMask, Mask};
use rayon::prelude::*;
use sparselab_workloads::Workload;

const NAME: &str = "flexprefill";

/// The pattern FlexPrefill chose for a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadPattern {
    /// Blocks from pooled `Q K^T` (the pooled estimate was close to the truth).
    QueryAware,
    /// Blocks touched by the selected columns and diagonals.
    VerticalSlash,
}

/// FlexPrefill with coverage `gamma`, pattern threshold `tau` and `block`-token
/// blocks. Causal attention only; outputs a [`BlockSparseMask`].
#[derive(Debug, Clone, PartialEq)]
pub struct FlexPrefill {
    gamma: f64,
    tau: f64,
    block: usize,
}

/// One head's result: key blocks per query block, its pattern and estimation cost.
struct HeadSelection {
    blocks: Vec<Vec<u32>>,
    pattern: HeadPattern,
    cost: EstimationCost,
}

impl FlexPrefill {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 3] = ["gamma", "tau", "block"];

    /// `gamma` and `tau` in (0, 1]; `block` 64 or 128 (the paper uses 128).
    pub fn new(gamma: f64, tau: f64, block: usize) -> Result<Self> {
        Ok(Self {
            gamma: unit_interval(NAME, "gamma", gamma)?,
            tau: unit_interval(NAME, "tau", tau)?,
            block: supported_block(NAME, block)?,
        })
    }

    /// From `gamma=..,tau=..,block=..` (defaults 0.9, 0.1, 128 as in the paper).
    pub fn from_params(mut p: Params) -> Result<Self> {
        let gamma = fraction(&mut p, NAME, "gamma", 0.9)?;
        let tau = fraction(&mut p, NAME, "tau", 0.1)?;
        let block = block_size(&mut p, NAME, 128)?;
        p.finish(&Self::PARAMS)?;
        Self::new(gamma, tau, block)
    }

    /// The pattern each head of `w` gets (for tables and tests).
    pub fn head_patterns(&self, w: &Workload) -> Vec<HeadPattern> {
        (0..w.heads()).map(|h| self.select_head(w, h).pattern).collect()
    }

    fn select_head(&self, w: &Workload, h: usize) -> HeadSelection {
        let (seq, dim, b) = (w.seq_len(), w.head_dim(), self.block);
        let nb = num_blocks(seq, b);
        let last = b.min(seq);
        let attn = last_queries_attention(w, h, last);
        let (vertical, slash) = mean_lines(&attn, seq, last);
        let true_blocks: Vec<f64> = vertical.chunks(b).map(|c| c.iter().sum()).collect();

        let scale = 1.0 / (dim as f32).sqrt();
        let k_pool = mean_pool(w.k().head(w.kv_head_of(h)), seq, dim, b);
        let q_last = mean_pool(&w.q().head(h)[(seq - last) * dim..], last, dim, last);
        let mut est = vec![0.0f32; nb];
        gemm_abt(1, dim, nb, &q_last, &k_pool, &mut est);
        est.iter_mut().for_each(|x| *x *= scale);
        softmax_in_place(&mut est);
        let est: Vec<f64> = est.iter().map(|&x| x as f64).collect();

        let scores = (last * seq) as f64;
        let mut cost = cost::cost(
            cost::gemm(last, seq, dim) + scores * (SOFTMAX_FLOPS + 2.0) + (seq * dim) as f64 + cost::gemm(1, nb, dim),
            cost::read_rows(seq, dim) + cost::read_rows(last, dim),
        );
        let pattern = if js_distance(&est, &true_blocks) < self.tau {
            HeadPattern::QueryAware
        } else {
            HeadPattern::VerticalSlash
        };
        let mut blocks = match pattern {
            HeadPattern::QueryAware => {
                let q_pool = mean_pool(w.q().head(h), seq, dim, b);
                let cells = nb * nb;
                cost = cost
                    + cost::cost(
                        (seq * dim) as f64 + cost::gemm(nb, nb, dim) + cells as f64 * SOFTMAX_FLOPS + cost::sort(cells),
                        cost::read_rows(seq, dim),
                    );
                self.query_aware_blocks(&q_pool, &k_pool, nb, dim)
            }
            HeadPattern::VerticalSlash => {
                cost = cost + cost::cost(2.0 * cost::sort(seq), 0.0);
                self.vertical_slash_blocks(&vertical, &slash, nb)
            }
        };
        for (qb, list) in blocks.iter_mut().enumerate() {
            list.push(0);
            list.push(qb as u32);
            list.sort_unstable();
            list.dedup();
        }
        let kept: usize = blocks.iter().map(Vec::len).sum();
        cost = cost + cost::cost(0.0, cost::write_indices(kept));
        HeadSelection { blocks, pattern, cost }
    }

    /// Algorithm 4: cumulative cover of the flattened, normalised pooled map.
    fn query_aware_blocks(&self, q_pool: &[f32], k_pool: &[f32], nb: usize, dim: usize) -> Vec<Vec<u32>> {
        let mut s = vec![0.0f32; nb * nb];
        gemm_abt(nb, dim, nb, q_pool, k_pool, &mut s);
        let scale = 1.0 / (dim as f32).sqrt();
        let mut flat = Vec::with_capacity(nb * (nb + 1) / 2);
        let mut cells = Vec::with_capacity(flat.capacity());
        for qb in 0..nb {
            let row = &mut s[qb * nb..qb * nb + qb + 1];
            row.iter_mut().for_each(|x| *x *= scale);
            softmax_in_place(row);
            for (kb, &p) in row.iter().enumerate() {
                flat.push(p as f64 / nb as f64);
                cells.push((qb, kb as u32));
            }
        }
        let total: f64 = flat.iter().sum();
        let mut blocks = vec![Vec::new(); nb];
        for i in cumulative_cover(&flat, self.gamma * total) {
            let (qb, kb) = cells[i as usize];
            blocks[qb].push(kb);
        }
        blocks
    }

    /// Algorithm 3: the smallest column and diagonal sets covering `gamma`, then
    /// every key block they pass through in each query block.
    fn vertical_slash_blocks(&self, vertical: &[f64], slash: &[f64], nb: usize) -> Vec<Vec<u32>> {
        let b = self.block;
        let total_v: f64 = vertical.iter().sum();
        let total_s: f64 = slash.iter().sum();
        let mut column_blocks: Vec<usize> = cumulative_cover(vertical, self.gamma * total_v)
            .into_iter()
            .map(|k| k as usize / b)
            .collect();
        column_blocks.sort_unstable();
        column_blocks.dedup();
        // Diagonal o = a*b + r covers, in query block qb, keys of blocks qb-a and
        // (when r > 0) qb-a-1.
        let mut back: Vec<usize> = cumulative_cover(slash, self.gamma * total_s)
            .into_iter()
            .flat_map(|o| {
                let (a, r) = (o as usize / b, o as usize % b);
                std::iter::once(a).chain((r > 0).then_some(a + 1))
            })
            .collect();
        back.sort_unstable();
        back.dedup();
        (0..nb)
            .map(|qb| {
                let columns = column_blocks.iter().copied().take_while(|&kb| kb <= qb);
                let diagonals = back.iter().take_while(|&&a| a <= qb).map(|&a| qb - a);
                columns.chain(diagonals).map(|kb| kb as u32).collect()
            })
            .collect()
    }
}

/// Row-means of the last-queries attention along columns (`vertical[k]`) and
/// diagonals (`slash[q - k]`); each sums to 1.
fn mean_lines(attn: &[f32], seq: usize, last: usize) -> (Vec<f64>, Vec<f64>) {
    let mut vertical = vec![0.0f64; seq];
    let mut slash = vec![0.0f64; seq];
    for (i, row) in attn.chunks(seq).enumerate() {
        let query = seq - last + i;
        for (key, &p) in row[..=query].iter().enumerate() {
            vertical[key] += p as f64;
            slash[query - key] += p as f64;
        }
    }
    let inv = 1.0 / last as f64;
    vertical.iter_mut().chain(slash.iter_mut()).for_each(|x| *x *= inv);
    (vertical, slash)
}

/// `sqrt(JS(p, q))` with natural logarithms; `0 log 0 = 0`. Lies in `[0, sqrt(ln 2)]`.
pub(crate) fn js_distance(p: &[f64], q: &[f64]) -> f64 {
    let kl_to_mid = |a: f64, b: f64| {
        let m = 0.5 * (a + b);
        if a > 0.0 {
            a * (a / m).ln()
        } else {
            0.0
        }
    };
    let js: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| 0.5 * kl_to_mid(a, b) + 0.5 * kl_to_mid(b, a))
        .sum();
    js.max(0.0).sqrt()
}

impl Method for FlexPrefill {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        format!("gamma={},tau={},block={}", self.gamma, self.tau, self.block)
    }
    /// Errors when not causal.
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        require_causal(NAME, ctx.causal)?;
        let w = ctx.workload;
        let (heads, seq) = (w.heads(), w.seq_len());
        let nb = num_blocks(seq, self.block);
        let (lists, estimation) = if nb <= 2 {
            let dense: Vec<Vec<u32>> = (0..heads * nb).map(|i| (0..=(i % nb) as u32).collect()).collect();
            (dense, EstimationCost::default())
        } else {
            let per_head: Vec<HeadSelection> = (0..heads).into_par_iter().map(|h| self.select_head(w, h)).collect();
            let cost = per_head.iter().fold(EstimationCost::default(), |acc, s| acc + s.cost);
            (per_head.into_iter().flat_map(|s| s.blocks).collect(), cost)
        };
        Ok(Selection {
            mask: Mask::BlockSparse(BlockSparseMask::new(heads, seq, self.block, true, lists)?),
            estimation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_distance_is_zero_for_equal_and_bounded() {
        let p = [0.25, 0.75, 0.0];
        assert!(js_distance(&p, &p).abs() < 1e-12);
        let d = js_distance(&[1.0, 0.0], &[0.0, 1.0]);
        assert!((d - 2f64.ln().sqrt()).abs() < 1e-12);
    }

    #[test]
    fn diagonals_touch_one_or_two_blocks() {
        let m = FlexPrefill::new(0.5, 0.1, 64).unwrap();
        // One column (key 70 -> block 1) and one diagonal (offset 64 -> one block back).
        let mut vertical = vec![0.0; 256];
        vertical[70] = 1.0;
        let mut slash = vec![0.0; 256];
        slash[64] = 1.0;
        let blocks = m.vertical_slash_blocks(&vertical, &slash, 4);
        assert_eq!(blocks[0], Vec::<u32>::new());
        assert_eq!(blocks[1], vec![1, 0]);
        assert_eq!(blocks[3], vec![1, 2]);
        // Offset 65 straddles: blocks qb-1 and qb-2.
        slash[64] = 0.0;
        slash[65] = 1.0;
        let blocks = m.vertical_slash_blocks(&vertical, &slash, 4);
        assert_eq!(blocks[3], vec![1, 2, 1]);
    }
}
