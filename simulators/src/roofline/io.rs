//! The FlashAttention-style IO model of a sparse attention kernel.
//!
//! Every thread block reads its Q tile once, then for each executed tile one K and one V tile of
//! `tile_k x D` elements, and writes its O tile and lse once:
//!
//! - Q: `heads L D b`; O: `heads L D b`; lse: `heads L 4` bytes (compulsory HBM traffic);
//! - K/V tile reads: `sum over blocks of key_tiles x 2 tile_k D b`: all of it crosses L2;
//! - gathered columns: `2 D b` useful bytes per column, moved at `gather_efficiency` (whole 32-byte
//!   sectors: a row of `D b` bytes moves `32 ceil(D b / 32)` bytes), so L2 traffic is
//!   `useful / efficiency`; rows of 128 or 256 bytes (D = 64 or 128, bf16) move no waste, and
//!   what gathering really costs (no bulk/TMA copies, one address per row) is in the kernel's
//!   efficiency;
//! - HBM share of the K/V reads: concurrently running blocks of one kv head read the same K/V, so
//!   L2 serves the re-reads. When the K/V of the kv heads in flight fit in half the L2 (two
//!   partitions, and Q/O stream through too) HBM sees each kv head's K/V once. Otherwise each wave
//!   streams, per head, the union of the keys of its consecutive query tiles: the largest tile's
//!   reads plus `tile_q` new keys per further tile (a causal or banded pattern slides by `tile_q`),
//!   at most the head's `2 L D b` and at most the reads. Without this, dense FlashAttention at 1M tokens would be predicted memory bound,
//!   which it is not (FlashAttention's `Θ(N² d² / M)` counts on-chip memory per SM, not the L2).

use super::work::{AttentionWork, BlockWork};

/// Bytes per row-major sector of the memory system (the unit a gathered row moves).
pub const SECTOR_BYTES: u64 = 32;
/// Share of the L2 that holds K/V for reuse across thread blocks.
pub const L2_RESIDENT_SHARE: f64 = 0.5;

/// Bytes one kernel moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Traffic {
    /// Device-memory (HBM) bytes.
    pub hbm_bytes: f64,
    /// Bytes crossing the L2 (everything the SMs load or store).
    pub l2_bytes: f64,
    /// Of the L2 bytes, K/V tile reads (re-reads included).
    pub kv_tile_bytes: f64,
    /// Of the L2 bytes, gathered columns at their memory efficiency.
    pub gathered_bytes: f64,
    /// Whether the K/V of the kv heads in flight fit in the L2 share.
    pub kv_resident: bool,
}

/// Useful over moved bytes of one gathered row of `row_bytes`: a row of 256 bytes moves exactly
/// 8 sectors (efficiency 1); a row of 48 bytes moves 2 sectors (0.75).
pub fn gather_efficiency(row_bytes: u64) -> f64 {
    if row_bytes == 0 {
        return 1.0;
    }
    row_bytes as f64 / (row_bytes.div_ceil(SECTOR_BYTES) * SECTOR_BYTES) as f64
}

/// The traffic of `work` when `wave_slots` blocks run at once on a card with `l2_bytes` of L2.
pub fn traffic(work: &AttentionWork, wave_slots: u64, l2_bytes: f64) -> Traffic {
    let s = &work.shape;
    let (l, d, b) = (s.seq_len as f64, s.head_dim as f64, s.dtype_bytes as f64);
    let h = s.heads as f64;
    let q_bytes = h * l * d * b;
    let o_bytes = h * l * d * b + h * l * 4.0;
    let tile_kv = 2.0 * work.tile.k as f64 * d * b;
    let row_bytes = s.head_dim * s.dtype_bytes;
    let gathered_row = 2.0 * row_bytes as f64 / gather_efficiency(row_bytes);
    let block_reads = |blk: &BlockWork| blk.key_tiles as f64 * tile_kv + blk.gathered_keys as f64 * gathered_row;
    let kv_tile_bytes: f64 = work
        .blocks
        .iter()
        .map(|blk| blk.count as f64 * blk.key_tiles as f64 * tile_kv)
        .sum();
    let gathered_bytes = work.gathered_keys() as f64 * gathered_row;
    let reads = kv_tile_bytes + gathered_bytes;

    let kv_per_head = 2.0 * l * d * b;
    let blocks = work.thread_blocks().max(1);
    let blocks_per_kv_head = blocks.div_ceil(s.kv_heads.max(1)).max(1);
    let in_flight = wave_slots.min(blocks);
    let kv_heads_in_flight = in_flight.div_ceil(blocks_per_kv_head).clamp(1, s.kv_heads.max(1));
    let kv_resident = kv_heads_in_flight as f64 * kv_per_head <= L2_RESIDENT_SHARE * l2_bytes;
    let hbm_kv = if kv_resident {
        (s.kv_heads as f64 * kv_per_head).min(reads)
    } else {
        // Stream: each wave's run of consecutive query tiles of a head reads, from HBM, the union
        // of their keys: the largest block's plus tile_q new keys per further block (a band slides
        // by tile_q), never more than the head's K/V or the reads themselves.
        let new_per_block = work.tile.q as f64 * 2.0 * d * b;
        let (sequences, multiplier) = head_sequences(work, block_reads);
        let per_pass = |pass: &[f64]| {
            let sum: f64 = pass.iter().sum();
            let max = pass.iter().copied().fold(0.0, f64::max);
            sum.min(kv_per_head)
                .min(max + (pass.len() as f64 - 1.0) * new_per_block)
        };
        let chunk = wave_slots.max(1) as usize;
        multiplier
            * sequences
                .iter()
                .flat_map(|seq| seq.chunks(chunk))
                .map(per_pass)
                .sum::<f64>()
    };
    Traffic {
        hbm_bytes: q_bytes + o_bytes + hbm_kv,
        l2_bytes: q_bytes + o_bytes + reads,
        kv_tile_bytes,
        gathered_bytes,
        kv_resident,
    }
}

/// The K/V bytes each query tile of a head reads, in launch order (query tiles of one head are
/// consecutive in the grid), with the number of heads each sequence stands for.
fn head_sequences(work: &AttentionWork, reads: impl Fn(&BlockWork) -> f64) -> (Vec<Vec<f64>>, f64) {
    let heads = work.shape.heads;
    let nq = work.shape.seq_len.div_ceil(work.tile.q.max(1)).max(1) as usize;
    if work.blocks.len() == nq && work.blocks.iter().all(|blk| blk.count == heads) {
        return (vec![work.blocks.iter().map(&reads).collect()], heads as f64);
    }
    let flat: Vec<f64> = work
        .blocks
        .iter()
        .flat_map(|blk| std::iter::repeat_n(reads(blk), blk.count as usize))
        .collect();
    (flat.chunks(nq).map(<[f64]>::to_vec).collect(), 1.0)
}

#[cfg(test)]
mod tests {
    use super::super::work::tests::shape;
    use super::super::work::{AttentionWork, BlockWork, EstimationWork, TileShape};
    use super::*;

    #[test]
    fn dense_causal_bytes_by_hand() {
        // L=256, D=64, bf16, 64x64 tiles, causal, 1 head: Q 256*64*2 = 32768; O 32768 + lse 1024;
        // K/V tile reads: 10 tiles x 2 x 64 x 64 x 2 = 163840 bytes through L2; HBM sees K and V
        // once (65536 bytes) since 64 KiB fit in the L2.
        let w = AttentionWork::dense(shape(256, 64, true), TileShape { q: 64, k: 64 });
        let t = traffic(&w, 264, 50e6);
        assert!(t.kv_resident);
        assert_eq!(t.kv_tile_bytes, 163_840.0);
        assert_eq!(t.l2_bytes, 32768.0 + 33792.0 + 163_840.0);
        assert_eq!(t.hbm_bytes, 32768.0 + 33792.0 + 65536.0);
    }

    #[test]
    fn without_l2_reuse_hbm_sees_every_pass() {
        // Same work, an L2 too small for K/V (64 KiB): 4 blocks on 1 slot = 4 passes of one
        // block each: HBM sees every tile read (163840 bytes).
        let w = AttentionWork::dense(shape(256, 64, true), TileShape { q: 64, k: 64 });
        let t = traffic(&w, 1, 1000.0);
        assert!(!t.kv_resident);
        assert_eq!(t.hbm_bytes, 32768.0 + 33792.0 + 163_840.0);
        // 2 slots: passes (1, 2 tiles) and (3, 4 tiles) read the union of their keys: 3 tiles
        // (49152 bytes) and the whole K/V of 4 tiles (65536).
        let t = traffic(&w, 2, 1000.0);
        assert_eq!(t.hbm_bytes, 32768.0 + 33792.0 + 49_152.0 + 65_536.0);
    }

    #[test]
    fn block_sparse_and_gathered_bytes() {
        // L=256, D=64, 1 head: blocks with 1, 1, 2, 1 tiles (5 tiles) and 10 gathered columns in the last.
        let mut w = AttentionWork::dense(shape(256, 64, true), TileShape { q: 64, k: 64 });
        w.blocks = [1, 1, 2, 1]
            .iter()
            .map(|&t| BlockWork {
                key_tiles: t,
                gathered_keys: 0,
                count: 1,
            })
            .collect();
        w.blocks[3].gathered_keys = 10;
        w.estimation = EstimationWork::default();
        assert_eq!(w.executed_tiles(), 6); // 5 + ceil(10 / 64)
        let t = traffic(&w, 264, 50e6);
        assert_eq!(t.kv_tile_bytes, 5.0 * 16384.0);
        // 10 columns x K and V rows of 128 bytes, whole sectors: efficiency 1.
        assert_eq!(t.gathered_bytes, 10.0 * 2.0 * 128.0);
        assert_eq!(gather_efficiency(256), 1.0);
        assert_eq!(gather_efficiency(48), 0.75);
    }
}
