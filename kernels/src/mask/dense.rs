//! Full attention as a mask.

use super::{block_len, num_blocks, KeyPlan, MaskFormat, REFERENCE_TILE};

/// Every key (up to the query, when causal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseMask {
    /// Query heads.
    pub heads: usize,
    /// Sequence length.
    pub seq_len: usize,
    /// Whether keys after the query are excluded.
    pub causal: bool,
}

impl MaskFormat for DenseMask {
    fn heads(&self) -> usize {
        self.heads
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn causal(&self) -> bool {
        self.causal
    }
    fn plan_rows(&self, _head: usize, _row_start: usize, row_end: usize, plan: &mut KeyPlan) {
        let end = if self.causal { row_end } else { self.seq_len };
        plan.push_range(0, end as u32);
    }
    fn keeps(&self, _head: usize, q: usize, k: usize) -> bool {
        !self.causal || k <= q
    }
    /// A FlashAttention-style kernel computes, for each 64-row block, every
    /// 64-key tile up to and including the diagonal one.
    fn executed_pairs(&self) -> u64 {
        let l = self.seq_len;
        if !self.causal {
            return (self.heads * l * l) as u64;
        }
        let t = REFERENCE_TILE;
        let per_head: u64 = (0..num_blocks(l, t))
            .map(|qb| (block_len(l, t, qb) * ((qb + 1) * t).min(l)) as u64)
            .sum();
        per_head * self.heads as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mask;
    use super::*;

    #[test]
    fn causal_dense_density_counts_whole_diagonal_tiles() {
        let m = Mask::Dense(DenseMask {
            heads: 2,
            seq_len: 128,
            causal: true,
        });
        // Two row blocks: 64 x 64 + 64 x 128 = 12288 per head; causal pairs 8256.
        assert_eq!(m.executed_pairs(), 2 * 12288);
        assert_eq!(m.kept_pairs(), 2 * 8256);
        assert!((m.density() - 12288.0 / 8256.0).abs() < 1e-12);
    }

    #[test]
    fn full_dense_is_density_one() {
        let m = Mask::Dense(DenseMask {
            heads: 1,
            seq_len: 100,
            causal: false,
        });
        assert_eq!(m.density(), 1.0);
        assert!(m.to_dense_bool().iter().all(|&b| b));
    }
}
