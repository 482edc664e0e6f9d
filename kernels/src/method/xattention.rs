//! XAttention (Xu et al., arXiv 2503.16428; `xattn_estimate` in
//! mit-han-lab/x-attention): blocks scored by strided antidiagonal sums.
//!
//! Rules, from the paper's §2 and the official `xattn_estimate` ("inverse" mode)
//! and `find_blocks_chunked`:
//! 1. Queries and keys are grouped `stride` at a time. Reshaped key `j` is the
//!    concatenation of keys `j*S .. j*S+S-1`; reshaped query `i` concatenates
//!    queries `i*S+S-1, .., i*S` (reversed), so their dot product is the sum of
//!    the `S` antidiagonal elements `Σ_t q[i*S+S-1-t] . k[j*S+t]` of the
//!    `S x S` sub-block. Groups past the sequence end are zero-padded.
//! 2. Those sums, scaled by `1 / (sqrt(d) S)`, are soft-maxed per reshaped
//!    query over the reshaped keys (causal: `j <= i`), in f32.
//! 3. A block's score is the sum of the probabilities of its `(b/S) x (b/S)`
//!    reshaped cells. Each query block's scores sum to its number of reshaped
//!    rows; blocks are kept in descending score until the kept sum reaches
//!    `tau` of that total, the first key block and the diagonal block counted
//!    first (they are always kept).

use super::checks::{block_size, fraction, nonzero, supported_block, unit_interval};
use super::cost::{self, SOFTMAX_FLOPS};
use super::params::Params;
use super::scoring::{gemm_ab, softmax_in_place, transpose};
use super::topk::cumulative_cover;
use super::{EstimationCost, Method, Selection, SelectionContext};
use crate::error::{KernelError, Result};
use crate::mask::{num_blocks, BlockSparseMask, Mask};
use rayon::prelude::*;
use sparselab_workloads::Workload;

const NAME: &str = "xattention";

/// XAttention with threshold `tau`, antidiagonal `stride` and `block`-token
/// blocks. Outputs a [`BlockSparseMask`]; causal or full attention.
#[derive(Debug, Clone, PartialEq)]
pub struct XAttention {
    tau: f64,
    stride: usize,
    block: usize,
}

impl XAttention {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 3] = ["tau", "stride", "block"];

    /// `tau` in (0, 1]; `stride` at least 1 and dividing `block` (64 or 128).
    pub fn new(tau: f64, stride: usize, block: usize) -> Result<Self> {
        let tau = unit_interval(NAME, "tau", tau)?;
        let block = supported_block(NAME, block)?;
        nonzero(NAME, "stride", stride)?;
        if block % stride != 0 {
            return Err(KernelError::bad_param(
                NAME,
                "stride",
                format!("= {stride} does not divide the block size {block}; use e.g. 8 or 16"),
            ));
        }
        Ok(Self { tau, stride, block })
    }

    /// From `tau=..,stride=..,block=..` (defaults 0.9, 8, 128; the paper uses
    /// stride 8 or 16 and tau 0.8 to 0.9).
    pub fn from_params(mut p: Params) -> Result<Self> {
        let tau = fraction(&mut p, NAME, "tau", 0.9)?;
        let stride = p.usize_or("stride", 8)?;
        let block = block_size(&mut p, NAME, 128)?;
        p.finish(&Self::PARAMS)?;
        Self::new(tau, stride, block)
    }

    /// Reshaped queries and keys of head `h`, `[ceil(seq / S), S * d]` each:
    /// row `g` of the keys is keys `g*S .. g*S+S-1`, row `g` of the queries is
    /// queries `g*S+S-1, .., g*S`, zero-padded past the sequence end.
    fn strided_rows(&self, w: &Workload, h: usize) -> (Vec<f32>, Vec<f32>) {
        let (seq, dim, s) = (w.seq_len(), w.head_dim(), self.stride);
        let groups = seq.div_ceil(s);
        let wide = s * dim;
        let q = w.q().head(h);
        let k = w.k().head(w.kv_head_of(h));
        let mut qr = vec![0.0f32; groups * wide];
        let mut kr = vec![0.0f32; groups * wide];
        for g in 0..groups {
            for t in 0..s {
                let slot = g * wide + t * dim..g * wide + (t + 1) * dim;
                let key = g * s + t;
                if key < seq {
                    kr[slot.clone()].copy_from_slice(&k[key * dim..(key + 1) * dim]);
                }
                let query = g * s + s - 1 - t;
                if query < seq {
                    qr[slot].copy_from_slice(&q[query * dim..(query + 1) * dim]);
                }
            }
        }
        (qr, kr)
    }

    /// Block scores of head `h`, `[nb, nb]` (zero above the diagonal when causal).
    fn block_scores(&self, w: &Workload, h: usize, causal: bool) -> Vec<f64> {
        let (seq, dim, s) = (w.seq_len(), w.head_dim(), self.stride);
        let groups = seq.div_ceil(s);
        let wide = s * dim;
        let (qr, kr) = self.strided_rows(w, h);
        let nb = num_blocks(seq, self.block);
        let per_block = self.block / s;
        let scale = 1.0 / ((dim as f32).sqrt() * s as f32);
        // Whole query blocks, about 128 reshaped rows per GEMM (small GEMMs
        // spend their time packing the keys).
        let chunk = per_block * (128 / per_block).max(1);
        let kr_t = transpose(&kr, groups, wide);
        let mut scores = vec![0.0f64; nb * nb];
        let mut p = Vec::new();
        for g0 in (0..groups).step_by(chunk) {
            let g1 = (g0 + chunk).min(groups);
            let cols = if causal { g1 } else { groups };
            p.resize((g1 - g0) * cols, 0.0);
            gemm_ab(g1 - g0, wide, cols, &qr[g0 * wide..g1 * wide], &kr_t, groups, &mut p);
            for (i, row) in p.chunks_mut(cols).enumerate() {
                let g = g0 + i;
                let row = &mut row[..if causal { g + 1 } else { cols }];
                row.iter_mut().for_each(|x| *x *= scale);
                softmax_in_place(row);
                let qb = g / per_block;
                for (kb, cell) in row.chunks(per_block).enumerate() {
                    scores[qb * nb + kb] += cell.iter().map(|&x| x as f64).sum::<f64>();
                }
            }
        }
        scores
    }

    /// Key blocks of each query block from its scores row.
    fn threshold_blocks(&self, scores: &[f64], nb: usize, causal: bool) -> Vec<Vec<u32>> {
        (0..nb)
            .map(|qb| {
                let visible = if causal { qb + 1 } else { nb };
                let mut row = scores[qb * nb..qb * nb + visible].to_vec();
                let total: f64 = row.iter().sum();
                let forced_sum: f64 = row[0] + if qb > 0 { row[qb] } else { 0.0 };
                let mut kept: Vec<u32> = vec![0, qb as u32];
                row[0] = 0.0;
                row[qb] = 0.0;
                let target = self.tau * total - forced_sum;
                if target > 0.0 {
                    kept.extend(cumulative_cover(&row, target));
                }
                kept.sort_unstable();
                kept.dedup();
                kept
            })
            .collect()
    }
}

impl Method for XAttention {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        format!("tau={},stride={},block={}", self.tau, self.stride, self.block)
    }
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        let w = ctx.workload;
        let (heads, seq, dim) = (w.heads(), w.seq_len(), w.head_dim());
        let nb = num_blocks(seq, self.block);
        let lists: Vec<Vec<Vec<u32>>> = (0..heads)
            .into_par_iter()
            .map(|h| self.threshold_blocks(&self.block_scores(w, h, ctx.causal), nb, ctx.causal))
            .collect();
        let lists: Vec<Vec<u32>> = lists.into_iter().flatten().collect();
        let kept: usize = lists.iter().map(Vec::len).sum();

        let groups = seq.div_ceil(self.stride);
        let cells = if ctx.causal {
            groups * (groups + 1) / 2
        } else {
            groups * groups
        } as f64;
        let per_head = cost::cost(
            cells * (2.0 * (self.stride * dim) as f64 + SOFTMAX_FLOPS + 1.0) + nb as f64 * cost::sort(nb),
            2.0 * cost::read_rows(seq, dim),
        );
        Ok(Selection {
            mask: Mask::BlockSparse(BlockSparseMask::new(heads, seq, self.block, ctx.causal, lists)?),
            estimation: EstimationCost {
                flops: per_head.flops * heads as f64,
                bytes: per_head.bytes * heads as f64 + cost::write_indices(kept),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_workloads::HeadTensor;

    #[test]
    fn antidiagonal_sums_match_a_direct_computation() {
        let (seq, dim, stride) = (20, 3, 4);
        let data = |seed: f32| {
            (0..seq * dim)
                .map(|i| ((i as f32 + seed) * 0.61).sin())
                .collect::<Vec<_>>()
        };
        let t = |seed| HeadTensor::new("t", 1, seq, dim, data(seed)).unwrap();
        let w = Workload::new("t", 0, t(0.0), t(5.0), t(9.0)).unwrap();
        let m = XAttention::new(0.9, stride, 64).unwrap();
        // One block covers everything: its score is the number of reshaped rows.
        let s = m.block_scores(&w, 0, true);
        assert!((s[0] - 5.0).abs() < 1e-5, "{s:?}");
        // Reshaped group 2 against group 1 is the antidiagonal sum of that sub-block.
        let (qr, kr) = m.strided_rows(&w, 0);
        let (q, k) = (w.q().head(0), w.k().head(0));
        let direct: f32 = (0..stride)
            .map(|t| {
                let (qi, ki) = (2 * stride + stride - 1 - t, stride + t);
                (0..dim).map(|d| q[qi * dim + d] * k[ki * dim + d]).sum::<f32>()
            })
            .sum();
        let wide = stride * dim;
        let reshaped: f32 = (0..wide).map(|i| qr[2 * wide + i] * kr[wide + i]).sum();
        assert!((direct - reshaped).abs() < 1e-5, "{direct} vs {reshaped}");
    }

    #[test]
    fn threshold_counts_forced_blocks_first() {
        let m = XAttention::new(0.8, 8, 64).unwrap();
        // One query block row (qb = 3) with 4 visible blocks.
        let nb = 4;
        let mut scores = vec![0.0; nb * nb];
        scores[3 * nb..4 * nb].copy_from_slice(&[0.1, 0.5, 0.3, 0.1]);
        let blocks = m.threshold_blocks(&scores, nb, true);
        // forced 0 and 3 give 0.2; then 0.5 -> 0.7 < 0.8, then 0.3 -> 1.0.
        assert_eq!(blocks[3], vec![0, 1, 2, 3]);
        scores[3 * nb..4 * nb].copy_from_slice(&[0.4, 0.45, 0.05, 0.1]);
        assert_eq!(m.threshold_blocks(&scores, nb, true)[3], vec![0, 1, 3]);
        assert_eq!(m.threshold_blocks(&scores, nb, true)[0], vec![0]);
    }
}
