//! Oracle top-k blocks: the best any block-sparse method can do at a budget of
//! `k` key blocks per query block. Blocks are ranked by their true attention
//! mass from the dense reference pass, so no estimate can beat it.

use super::checks::BlockBudget;
use super::cost;
use super::params::Params;
use super::topk::top_k;
use super::{Method, Selection, SelectionContext};
use crate::error::{KernelError, Result};
use crate::mask::{attended_pairs, num_blocks, BlockSparseMask, Mask};
use crate::reference::AttentionOutput;
use rayon::prelude::*;

const NAME: &str = "oracle-blocks";

/// Exact top-`k` key blocks per query block by attention mass.
///
/// The mass of key block `kb` for query block `qb` is
/// `Σ_{rows i of qb} exp(lse_block[i, kb] - lse[i])`, the sum over the block's
/// rows of the probability the block holds, read from the dense pass's
/// per-64-key-block log-sum-exp ([`crate::reference::BlockLse`]); 128-key
/// blocks combine two 64-key values. Maximising each query block's mass
/// maximises the mean recall, so at the same `k` and block size this bounds
/// every block-sparse method from above. A given `k` above the number of
/// blocks is an error; the default is capped.
///
/// Estimation cost: reported honestly as the cost of computing every attended
/// score (`Q K^T` over all causal pairs plus a softmax), which is more than the
/// dense attention's own score GEMM: an oracle is an upper bound, not a
/// practical method, and its cost row says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleBlocks {
    budget: BlockBudget,
}

impl OracleBlocks {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 2] = BlockBudget::PARAMS;

    /// `k` key blocks (at least 1) of `block` tokens (64 or 128).
    pub fn new(k: usize, block: usize) -> Result<Self> {
        Ok(Self {
            budget: BlockBudget::new(NAME, k, block)?,
        })
    }

    /// From `k=..,block=..` (defaults 100 and 64, matching `block-topk`).
    pub fn from_params(p: Params) -> Result<Self> {
        Ok(Self {
            budget: BlockBudget::from_params(p, NAME, 100, 64)?,
        })
    }
}

/// The dense pass with per-block lse, checked against the workload's shape.
pub(crate) fn dense_with_blocks<'a>(
    ctx: &SelectionContext<'a>,
    method: &str,
) -> Result<(&'a AttentionOutput, &'a crate::reference::BlockLse)> {
    let missing = |what: &str| {
        KernelError::bad_param(
            method,
            "dense reference",
            format!(
                "is {what}: this oracle ranks by the true attention; compute reference::attention with the dense mask \
                 and ReferenceOptions {{ block_lse: true, .. }} and pass it as SelectionContext::dense"
            ),
        )
    };
    let dense = ctx.dense.ok_or_else(|| missing("missing"))?;
    let blocks = dense
        .block_lse
        .as_ref()
        .ok_or_else(|| missing("present but has no per-block lse"))?;
    let (heads, seq) = (ctx.workload.heads(), ctx.workload.seq_len());
    if dense.lse.len() != heads * seq || blocks.values.len() != heads * seq * blocks.num_blocks {
        return Err(missing(&format!(
            "for {} rows but the workload has {heads} heads x {seq} tokens",
            dense.lse.len()
        )));
    }
    Ok((dense, blocks))
}

impl Method for OracleBlocks {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        self.budget.params()
    }
    fn effective_params(&self, seq_len: usize) -> String {
        self.budget.effective_params(seq_len)
    }
    fn needs_dense_reference(&self) -> bool {
        true
    }
    /// Errors when `ctx.dense` (with per-block lse) is missing or when `k`
    /// a given `k` exceeds the number of blocks (the default is capped to it).
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        let w = ctx.workload;
        let (heads, seq, dim) = (w.heads(), w.seq_len(), w.head_dim());
        let k = self.budget.blocks_on(NAME, seq)?;
        let (dense, lse_blocks) = dense_with_blocks(ctx, NAME)?;
        let nb = num_blocks(seq, self.budget.block);
        let (fine, nfine) = (lse_blocks.block, lse_blocks.num_blocks);
        let lists: Vec<Vec<u32>> = (0..heads * nb)
            .into_par_iter()
            .map(|i| {
                let (h, qb) = (i / nb, i % nb);
                let visible = if ctx.causal { qb + 1 } else { nb };
                let mut mass = vec![0.0f64; visible];
                for row in qb * self.budget.block..((qb + 1) * self.budget.block).min(seq) {
                    let lse = dense.lse[h * seq + row];
                    let values = &lse_blocks.values[(h * seq + row) * nfine..(h * seq + row + 1) * nfine];
                    for (fb, &v) in values.iter().enumerate() {
                        let kb = fb * fine / self.budget.block;
                        if kb < visible && v != f32::NEG_INFINITY {
                            mass[kb] += (v as f64 - lse).exp();
                        }
                    }
                }
                top_k(&mass, k)
            })
            .collect();
        let kept: usize = lists.iter().map(Vec::len).sum();
        Ok(Selection {
            mask: Mask::BlockSparse(BlockSparseMask::new(heads, seq, self.budget.block, ctx.causal, lists)?),
            estimation: cost::exact_scores(heads, seq, dim, attended_pairs(heads, seq, ctx.causal), kept),
        })
    }
}
