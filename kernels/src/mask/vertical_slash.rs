//! Vertical-slash masks in MInference's kernel format.

use super::{block_len, num_blocks, KeyPlan, MaskFormat};
use crate::error::{KernelError, Result};

/// Rows per query block and keys per key block in MInference's vertical-slash
/// kernel (64 x 64 tiles).
pub const VS_BLOCK: usize = 64;

/// Vertical columns and slash diagonals per head, converted as MInference's
/// `convert_vertical_slash_indexes` does: for every 64-row query block, the keys
/// covered by the slashes are merged into ranges and loaded as contiguous
/// 64-key blocks (`block_offset`); vertical columns outside those blocks are
/// gathered 64 at a time (`column_index`). The kernel computes every causal pair
/// of the blocks and columns, which is what this mask keeps, so thin slashes are
/// paid for as whole blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerticalSlashMask {
    heads: usize,
    seq_len: usize,
    verticals: Vec<Vec<u32>>,
    slashes: Vec<Vec<u32>>,
    /// `[h * num_row_blocks + rb]`: start key of each 64-key block.
    block_offset: Vec<Vec<u32>>,
    /// `[h * num_row_blocks + rb]`: sorted loose columns.
    column_index: Vec<Vec<u32>>,
}

impl VerticalSlashMask {
    /// Converts per-head vertical columns (key indices) and slash offsets
    /// (`q - k`, 0 = the main diagonal) to the kernel format. Causal only.
    pub fn new(heads: usize, seq_len: usize, mut verticals: Vec<Vec<u32>>, mut slashes: Vec<Vec<u32>>) -> Result<Self> {
        if verticals.len() != heads || slashes.len() != heads {
            return Err(KernelError::invalid_mask(
                "vertical-slash",
                format!(
                    "need one vertical and one slash list per head ({heads}), got {} and {}",
                    verticals.len(),
                    slashes.len()
                ),
            ));
        }
        for (h, (v, s)) in verticals.iter_mut().zip(slashes.iter_mut()).enumerate() {
            v.sort_unstable();
            v.dedup();
            s.sort_unstable();
            s.dedup();
            for (what, list) in [("vertical column", &*v), ("slash offset", &*s)] {
                if let Some(&last) = list.last() {
                    if last as usize >= seq_len {
                        return Err(KernelError::invalid_mask(
                            "vertical-slash",
                            format!("head {h}: {what} {last} is outside a sequence of {seq_len} tokens"),
                        ));
                    }
                }
            }
        }
        let nrb = num_blocks(seq_len, VS_BLOCK);
        let mut block_offset = Vec::with_capacity(heads * nrb);
        let mut column_index = Vec::with_capacity(heads * nrb);
        for h in 0..heads {
            for rb in 0..nrb {
                let (blocks, columns) = convert_row_block(seq_len, rb, &verticals[h], &slashes[h]);
                block_offset.push(blocks);
                column_index.push(columns);
            }
        }
        Ok(Self {
            heads,
            seq_len,
            verticals,
            slashes,
            block_offset,
            column_index,
        })
    }

    /// Selected vertical columns of head `h`, sorted.
    pub fn verticals(&self, h: usize) -> &[u32] {
        &self.verticals[h]
    }
    /// Selected slash offsets (`q - k`) of head `h`, sorted.
    pub fn slashes(&self, h: usize) -> &[u32] {
        &self.slashes[h]
    }
    /// Start keys of the 64-key blocks of head `h`, row block `rb`.
    pub fn block_offsets(&self, h: usize, rb: usize) -> &[u32] {
        &self.block_offset[h * num_blocks(self.seq_len, VS_BLOCK) + rb]
    }
    /// Loose columns of head `h`, row block `rb`.
    pub fn columns(&self, h: usize, rb: usize) -> &[u32] {
        &self.column_index[h * num_blocks(self.seq_len, VS_BLOCK) + rb]
    }
}

/// MInference's conversion for one 64-row block: slash ranges merged, cut into
/// 64-key blocks from each merged range's start; verticals not inside a block
/// become loose columns. Blocks never overlap, so no key is counted twice.
fn convert_row_block(seq_len: usize, rb: usize, verticals: &[u32], slashes: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let r0 = rb * VS_BLOCK;
    let r1 = (r0 + VS_BLOCK).min(seq_len);
    let key_end = r1; // causal: no row of the block sees a key >= r1
                      // Slash s covers keys r0 - s ..= r1 - 1 - s; larger offsets start earlier.
    let mut ranges: Vec<(usize, usize)> = slashes
        .iter()
        .rev()
        .map(|&s| s as usize)
        .filter(|&s| s < r1)
        .map(|s| (r0.saturating_sub(s), r1 - s))
        .collect();
    ranges.sort_unstable();
    let mut blocks = Vec::new();
    let flush = |start: usize, end: usize, blocks: &mut Vec<u32>| {
        let mut off = start;
        while off < end.min(key_end) {
            blocks.push(off as u32);
            off += VS_BLOCK;
        }
    };
    let mut current: Option<(usize, usize)> = None;
    for (a, b) in ranges {
        current = match current {
            None => Some((a, b)),
            Some((ca, cb)) => {
                let rounded_end = ca + (cb - ca).div_ceil(VS_BLOCK) * VS_BLOCK;
                if a <= rounded_end {
                    Some((ca, cb.max(b)))
                } else {
                    flush(ca, cb, &mut blocks);
                    Some((a, b))
                }
            }
        };
    }
    if let Some((ca, cb)) = current {
        flush(ca, cb, &mut blocks);
    }
    let in_block = |k: usize| {
        let i = blocks.partition_point(|&off| off as usize <= k);
        i > 0 && k < blocks[i - 1] as usize + VS_BLOCK
    };
    let columns = verticals
        .iter()
        .copied()
        .filter(|&k| (k as usize) < key_end && !in_block(k as usize))
        .collect();
    (blocks, columns)
}

impl MaskFormat for VerticalSlashMask {
    fn heads(&self) -> usize {
        self.heads
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn causal(&self) -> bool {
        true
    }
    fn plan_rows(&self, head: usize, row_start: usize, row_end: usize, plan: &mut KeyPlan) {
        let rb = row_start / VS_BLOCK;
        for &off in self.block_offsets(head, rb) {
            let end = (off as usize + VS_BLOCK).min(row_end);
            plan.push_range(off, end as u32);
        }
        plan.columns.extend_from_slice(self.columns(head, rb));
    }
    fn keeps(&self, _head: usize, q: usize, k: usize) -> bool {
        k <= q
    }
    /// Per row block: every 64-key block (clipped at the sequence end) plus the
    /// loose columns rounded up to groups of 64.
    fn executed_pairs(&self) -> u64 {
        let nrb = num_blocks(self.seq_len, VS_BLOCK);
        let mut total = 0u64;
        for i in 0..self.block_offset.len() {
            let rows = block_len(self.seq_len, VS_BLOCK, i % nrb) as u64;
            let block_keys: u64 = self.block_offset[i]
                .iter()
                .map(|&off| (self.seq_len - off as usize).min(VS_BLOCK) as u64)
                .sum();
            let column_keys = (self.column_index[i].len().div_ceil(VS_BLOCK) * VS_BLOCK) as u64;
            total += rows * (block_keys + column_keys);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mask;
    use super::*;

    #[test]
    fn keeps_every_selected_diagonal_and_column() {
        let (l, verticals, slashes) = (300, vec![5u32, 77, 290], vec![0u32, 3, 130]);
        let m =
            Mask::VerticalSlash(VerticalSlashMask::new(1, l, vec![verticals.clone()], vec![slashes.clone()]).unwrap());
        let d = m.to_dense_bool();
        for q in 0..l {
            for k in 0..=q {
                let wanted = verticals.contains(&(k as u32)) || slashes.contains(&((q - k) as u32));
                if wanted {
                    assert!(d[q * l + k], "q {q} k {k} should be kept");
                }
            }
            for k in q + 1..l {
                assert!(!d[q * l + k], "causal violated at q {q} k {k}");
            }
        }
    }

    #[test]
    fn conversion_rounds_slashes_to_blocks_without_overlap() {
        // Row block 2 (rows 128..192) with slash offsets 0 and 100: ranges
        // [128,192) and [28,92) -> one block from each range.
        let (blocks, cols) = convert_row_block(300, 2, &[0, 30, 100], &[0, 100]);
        assert_eq!(blocks, vec![28, 128]);
        // 30 lies inside block [28, 92); 0 and 100 stay loose columns.
        assert_eq!(cols, vec![0, 100]);
        // Merging: offsets 0 and 70 -> ranges [128,192) and [58,122): 58 + 64 = 122 touches? 122 < 128 -> separate.
        let (blocks, _) = convert_row_block(300, 2, &[], &[0, 70]);
        assert_eq!(blocks, vec![58, 128]);
        // Offsets 0 and 50 -> [78,142) and [128,192): 128 <= 142 -> merged into [78,192) -> 78, 142.
        let (blocks, _) = convert_row_block(300, 2, &[], &[0, 50]);
        assert_eq!(blocks, vec![78, 142]);
    }

    #[test]
    fn executed_pairs_count_blocks_and_column_groups() {
        let m = VerticalSlashMask::new(1, 128, vec![vec![1, 2, 3]], vec![vec![0]]).unwrap();
        // rb0: block 0, columns inside -> 64*64; rb1: block 64, columns 1,2,3 -> 64*(64+64)
        assert_eq!(m.executed_pairs(), 64 * 64 + 64 * 128);
    }

    #[test]
    fn out_of_range_indices_are_rejected() {
        let e = VerticalSlashMask::new(1, 100, vec![vec![100]], vec![vec![0]]).unwrap_err();
        assert!(e.to_string().contains("vertical column 100"), "{e}");
    }
}
