//! MInference's block-sparse pattern: mean-pool Q and K in blocks, score the
//! pooled `Q K^T` under a block-causal mask, keep the top `k` key blocks per
//! query block (arXiv 2407.02490, Algorithm 3; `block_sparse_attention` in
//! microsoft/MInference, which pools in 64-token blocks and keeps 100).

use super::checks::BlockBudget;
use super::cost::{self, ELEM_BYTES};
use super::params::Params;
use super::scoring::{gemm_abt, mean_pool};
use super::topk::top_k;
use super::{Method, Selection, SelectionContext};
use crate::error::Result;
use crate::mask::{num_blocks, BlockSparseMask, Mask};
use rayon::prelude::*;

const NAME: &str = "block-topk";

/// Top-`k` key blocks per query block by pooled score. Query blocks with fewer
/// than `k` visible key blocks keep all of them. No block is forced: the
/// diagonal block is kept only when its pooled score ranks in the top `k`.
/// A given `k` above the number of blocks is an error; the default is capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTopK {
    budget: BlockBudget,
}

impl BlockTopK {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 2] = BlockBudget::PARAMS;

    /// `k` key blocks (at least 1) of `block` tokens (64 or 128).
    pub fn new(k: usize, block: usize) -> Result<Self> {
        Ok(Self {
            budget: BlockBudget::new(NAME, k, block)?,
        })
    }

    /// From `k=..,block=..` (defaults 100 and 64, as MInference).
    pub fn from_params(p: Params) -> Result<Self> {
        Ok(Self {
            budget: BlockBudget::from_params(p, NAME, 100, 64)?,
        })
    }

    /// `(k, block)` used on `seq_len` tokens: key blocks kept per query block (a
    /// default is capped to the blocks of the sequence) and tokens per block. The GPU
    /// index builder reads it to select the same blocks.
    pub fn budget_on(&self, seq_len: usize) -> Result<(usize, usize)> {
        Ok((self.budget.blocks_on(NAME, seq_len)?, self.budget.block))
    }
}

/// Pooled block scores of head `h`: `[nb, nb]`, `Q_pool K_pool^T` (unscaled;
/// a positive scale does not change the ranking).
pub(crate) fn pooled_scores(w: &sparselab_workloads::Workload, h: usize, block: usize) -> Vec<f32> {
    let (seq, dim) = (w.seq_len(), w.head_dim());
    let nb = num_blocks(seq, block);
    let qp = mean_pool(w.q().head(h), seq, dim, block);
    let kp = mean_pool(w.k().head(w.kv_head_of(h)), seq, dim, block);
    let mut s = vec![0.0f32; nb * nb];
    gemm_abt(nb, dim, nb, &qp, &kp, &mut s);
    s
}

impl Method for BlockTopK {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        self.budget.params()
    }
    fn effective_params(&self, seq_len: usize) -> String {
        self.budget.effective_params(seq_len)
    }
    /// Errors when a given `k` exceeds the number of blocks in the sequence
    /// (the default is capped to it).
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        let w = ctx.workload;
        let (heads, seq, dim) = (w.heads(), w.seq_len(), w.head_dim());
        let k = self.budget.blocks_on(NAME, seq)?;
        let nb = num_blocks(seq, self.budget.block);
        let lists: Vec<Vec<Vec<u32>>> = (0..heads)
            .into_par_iter()
            .map(|h| {
                let s = pooled_scores(w, h, self.budget.block);
                (0..nb)
                    .map(|qb| {
                        let visible = if ctx.causal { qb + 1 } else { nb };
                        top_k(&s[qb * nb..qb * nb + visible], k)
                    })
                    .collect()
            })
            .collect();
        let lists: Vec<Vec<u32>> = lists.into_iter().flatten().collect();
        let kept: usize = lists.iter().map(Vec::len).sum();
        let mask = BlockSparseMask::new(heads, seq, self.budget.block, ctx.causal, lists)?;

        let h = heads as f64;
        let pooling = cost::cost(
            2.0 * (seq * dim) as f64,
            2.0 * cost::read_rows(seq, dim) + 2.0 * (nb * dim) as f64 * ELEM_BYTES,
        );
        let scoring = cost::cost(cost::gemm(nb, nb, dim) + nb as f64 * cost::sort(nb), 0.0);
        let per_head = pooling + scoring;
        Ok(Selection {
            mask: Mask::BlockSparse(mask),
            estimation: cost::cost(per_head.flops * h, per_head.bytes * h + cost::write_indices(kept)),
        })
    }
}
