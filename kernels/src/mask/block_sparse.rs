//! Block-sparse masks: per head and query block, the key blocks to compute.

use super::{block_len, num_blocks, KeyPlan, MaskFormat, REFERENCE_TILE};
use crate::error::{KernelError, Result};

/// Per head and query block of `block` rows, a sorted list of key blocks of
/// `block` keys. Within a kept tile every causal pair is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSparseMask {
    heads: usize,
    seq_len: usize,
    block: usize,
    causal: bool,
    /// `blocks[h * num_query_blocks + qb]`: sorted, distinct key-block indices.
    blocks: Vec<Vec<u32>>,
}

impl BlockSparseMask {
    /// Builds and validates a block mask. `blocks` has one list per (head, query
    /// block), head-major; lists are sorted here; indices must be in range and,
    /// when causal, not above the diagonal block. `block` must be a multiple of 64.
    pub fn new(heads: usize, seq_len: usize, block: usize, causal: bool, mut blocks: Vec<Vec<u32>>) -> Result<Self> {
        if block == 0 || block % REFERENCE_TILE != 0 {
            return Err(KernelError::invalid_mask(
                "block-sparse",
                format!("block size {block} must be a positive multiple of {REFERENCE_TILE} (64 and 128 are what kernels use)"),
            ));
        }
        let nb = num_blocks(seq_len, block);
        if blocks.len() != heads * nb {
            return Err(KernelError::invalid_mask(
                "block-sparse",
                format!(
                    "expected {} block lists ({heads} heads x {nb} query blocks), got {}",
                    heads * nb,
                    blocks.len()
                ),
            ));
        }
        for (i, list) in blocks.iter_mut().enumerate() {
            list.sort_unstable();
            list.dedup();
            let qb = i % nb;
            if let Some(&last) = list.last() {
                let limit = if causal { qb } else { nb - 1 };
                if last as usize > limit {
                    return Err(KernelError::invalid_mask(
                        "block-sparse",
                        format!(
                            "head {}, query block {qb} lists key block {last}, beyond the last allowed block {limit}{}",
                            i / nb,
                            if causal { " (causal)" } else { "" }
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            heads,
            seq_len,
            block,
            causal,
            blocks,
        })
    }

    /// Tokens per block.
    pub fn block(&self) -> usize {
        self.block
    }
    /// Number of query (and key) blocks.
    pub fn num_blocks(&self) -> usize {
        num_blocks(self.seq_len, self.block)
    }
    /// The sorted key blocks of head `head`, query block `qb`.
    pub fn key_blocks(&self, head: usize, qb: usize) -> &[u32] {
        &self.blocks[head * self.num_blocks() + qb]
    }
    /// Selected tiles over all heads.
    pub fn selected_tiles(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }
}

impl MaskFormat for BlockSparseMask {
    fn heads(&self) -> usize {
        self.heads
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn causal(&self) -> bool {
        self.causal
    }
    fn plan_rows(&self, head: usize, row_start: usize, _row_end: usize, plan: &mut KeyPlan) {
        let qb = row_start / self.block;
        for &kb in self.key_blocks(head, qb) {
            let start = kb as usize * self.block;
            let end = (start + self.block).min(self.seq_len);
            plan.push_range(start as u32, end as u32);
        }
    }
    fn keeps(&self, _head: usize, q: usize, k: usize) -> bool {
        !self.causal || k <= q
    }
    fn executed_pairs(&self) -> u64 {
        let nb = self.num_blocks();
        let mut total = 0u64;
        for (i, list) in self.blocks.iter().enumerate() {
            let rows = block_len(self.seq_len, self.block, i % nb) as u64;
            let cols: u64 = list
                .iter()
                .map(|&kb| block_len(self.seq_len, self.block, kb as usize) as u64)
                .sum();
            total += rows * cols;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mask;
    use super::*;

    #[test]
    fn ragged_tail_tiles_are_clipped() {
        // 150 tokens, block 64: blocks of 64, 64, 22.
        let blocks = vec![vec![0], vec![1], vec![0, 2]];
        let m = BlockSparseMask::new(1, 150, 64, true, blocks).unwrap();
        assert_eq!(m.executed_pairs(), (64 * 64 + 64 * 64 + 22 * (64 + 22)) as u64);
        let dense = Mask::BlockSparse(m).to_dense_bool();
        assert!(dense[140 * 150 + 3] && dense[140 * 150 + 140] && !dense[140 * 150 + 141]);
        assert!(!dense[140 * 150 + 70], "block 1 is not selected for query block 2");
        assert!(!dense[10 * 150 + 11], "causal inside the diagonal tile");
    }

    #[test]
    fn above_diagonal_block_is_rejected_when_causal() {
        let e = BlockSparseMask::new(1, 128, 64, true, vec![vec![1], vec![1]]).unwrap_err();
        assert!(e.to_string().contains("query block 0 lists key block 1"), "{e}");
        assert!(BlockSparseMask::new(1, 128, 64, false, vec![vec![1], vec![1]]).is_ok());
    }

    #[test]
    fn wrong_list_count_and_block_size_are_rejected() {
        assert!(BlockSparseMask::new(2, 128, 64, true, vec![vec![0]; 3]).is_err());
        assert!(BlockSparseMask::new(1, 128, 48, true, vec![vec![0]; 3]).is_err());
    }
}
