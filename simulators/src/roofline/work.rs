//! The work description the roofline costs: plain numbers, so that this crate needs no mask type.
//! The harness fills it from a method's mask (`--from-workload`) or from an analytic family
//! ([`super::families`]).
//!
//! Attention of `heads` query heads runs as one thread block per (query tile, head); a block
//! computes `key_tiles` whole `tile.q x tile.k` tiles (after block rounding: causal diagonal tiles
//! count whole) plus `gathered_keys` loose key columns, gathered `tile.k` at a time.

use crate::error::{Result, SimulatorError};

/// Shape of one attention call (batch folded into heads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionShape {
    /// Tokens (queries = keys).
    pub seq_len: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads (a divisor of `heads`).
    pub kv_heads: u64,
    /// Head dimension `D`.
    pub head_dim: u64,
    /// Keys after the query are masked.
    pub causal: bool,
    /// Bytes per Q/K/V/O element (2 for bf16).
    pub dtype_bytes: u64,
}

impl AttentionShape {
    /// Checks every field; errors name the field, the value and what is accepted.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("seq_len", self.seq_len),
            ("heads", self.heads),
            ("head_dim", self.head_dim),
            ("dtype_bytes", self.dtype_bytes),
        ] {
            if v == 0 {
                return Err(SimulatorError::bad_workload(field, v, "at least 1"));
            }
        }
        if self.kv_heads == 0 || self.heads % self.kv_heads != 0 {
            return Err(SimulatorError::bad_workload(
                "kv_heads",
                self.kv_heads,
                format!("a positive divisor of heads = {}", self.heads),
            ));
        }
        Ok(())
    }

    /// Query-key pairs dense attention computes: `heads L(L+1)/2` causal, `heads L^2` otherwise.
    pub fn attended_pairs(&self) -> f64 {
        let l = self.seq_len as f64;
        let per_head = if self.causal { l * (l + 1.0) / 2.0 } else { l * l };
        self.heads as f64 * per_head
    }

    /// Conventional dense FLOPs `4 heads L^2 D` (halved when causal), the TFLOP/s convention.
    pub fn conventional_dense_flops(&self) -> f64 {
        let full = 4.0 * self.heads as f64 * (self.seq_len as f64).powi(2) * self.head_dim as f64;
        if self.causal {
            full / 2.0
        } else {
            full
        }
    }

    /// Query heads per key/value head.
    pub fn group(&self) -> u64 {
        self.heads / self.kv_heads.max(1)
    }
}

/// Rows and keys of one tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileShape {
    /// Query rows per thread block (`tile_q`).
    pub q: u64,
    /// Keys per tile (`tile_k`).
    pub k: u64,
}

impl TileShape {
    /// Checks that both sides are positive.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [("tile_q", self.q), ("tile_k", self.k)] {
            if v == 0 || v > 4096 {
                return Err(SimulatorError::bad_workload(field, v, "1 to 4096"));
            }
        }
        Ok(())
    }
}

/// `count` thread blocks that each compute `key_tiles` tiles and gather `gathered_keys` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockWork {
    /// Whole `tile.q x tile.k` tiles of contiguous keys.
    pub key_tiles: u64,
    /// Loose key columns, loaded row by row (vertical lines), computed `tile.k` at a time.
    pub gathered_keys: u64,
    /// How many thread blocks do this work.
    pub count: u64,
}

/// The index-estimation phase of a method: what it computes and moves, and in how many launches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EstimationWork {
    /// Matrix FLOPs (tensor cores).
    pub tensor_flops: f64,
    /// Other FLOPs (softmax, sorting, index conversion), fp32 vector units.
    pub vector_flops: f64,
    /// Bytes read and written in device memory.
    pub bytes: f64,
    /// Kernel launches (0 when the method estimates nothing).
    pub launches: u64,
}

/// Everything the roofline needs about one attention call under one method.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionWork {
    /// The call's shape.
    pub shape: AttentionShape,
    /// The kernel's tile.
    pub tile: TileShape,
    /// Thread blocks grouped by identical work; their counts sum to query tiles x heads.
    pub blocks: Vec<BlockWork>,
    /// Index estimation before the kernel.
    pub estimation: EstimationWork,
}

impl AttentionWork {
    /// Checks the shape, the tile, and that the blocks cover `ceil(L / tile.q) x heads` thread blocks.
    pub fn validate(&self) -> Result<()> {
        self.shape.validate()?;
        self.tile.validate()?;
        let want = self.shape.seq_len.div_ceil(self.tile.q) * self.shape.heads;
        if self.thread_blocks() != want {
            return Err(SimulatorError::bad_workload(
                "thread blocks",
                self.thread_blocks(),
                format!(
                    "ceil({} / {}) x {} heads = {want}",
                    self.shape.seq_len, self.tile.q, self.shape.heads
                ),
            ));
        }
        let e = &self.estimation;
        for (field, v) in [
            ("estimation.tensor_flops", e.tensor_flops),
            ("estimation.vector_flops", e.vector_flops),
            ("estimation.bytes", e.bytes),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(SimulatorError::bad_workload(field, v, "a finite number >= 0"));
            }
        }
        Ok(())
    }

    /// Thread blocks of the kernel (query tiles x heads).
    pub fn thread_blocks(&self) -> u64 {
        self.blocks.iter().map(|b| b.count).sum()
    }

    /// Tiles the gathered columns of one block occupy: `ceil(gathered / tile.k)`.
    pub fn gather_tiles(&self, b: &BlockWork) -> u64 {
        b.gathered_keys.div_ceil(self.tile.k)
    }

    /// Executed tiles over all blocks: key tiles plus gathered-column tiles.
    pub fn executed_tiles(&self) -> u64 {
        self.blocks
            .iter()
            .map(|b| b.count * (b.key_tiles + self.gather_tiles(b)))
            .sum()
    }

    /// Gathered key columns over all blocks.
    pub fn gathered_keys(&self) -> u64 {
        self.blocks.iter().map(|b| b.count * b.gathered_keys).sum()
    }

    /// Executed query-key pairs after tile rounding.
    pub fn executed_pairs(&self) -> f64 {
        self.executed_tiles() as f64 * (self.tile.q * self.tile.k) as f64
    }

    /// Executed pairs over the pairs dense attention computes (can exceed 1 slightly: whole diagonal tiles).
    pub fn density(&self) -> f64 {
        self.executed_pairs() / self.shape.attended_pairs()
    }

    /// The thread blocks in sparselab's launch order (grid x = query tiles reversed, y = heads:
    /// head by head, each head's last query tile first), when `blocks` lists one entry per query
    /// tile for all heads (`count = heads`, as the families build them) or one per (head, query
    /// tile), head-major (`count = 1`, as masks give them); `None` for any other grouping.
    pub fn head_by_head(&self) -> Option<Vec<&BlockWork>> {
        let (nq, heads) = (
            self.shape.seq_len.div_ceil(self.tile.q.max(1)) as usize,
            self.shape.heads,
        );
        let per_tile = self.blocks.len() == nq && self.blocks.iter().all(|b| b.count == heads);
        let per_head = self.blocks.len() as u64 == nq as u64 * heads && self.blocks.iter().all(|b| b.count == 1);
        if !(per_tile || per_head) {
            return None;
        }
        let mut order = Vec::with_capacity(nq * heads as usize);
        for h in 0..heads as usize {
            for qb in (0..nq).rev() {
                order.push(&self.blocks[if per_head { h * nq + qb } else { qb }]);
            }
        }
        Some(order)
    }

    /// Dense attention on `shape` with `tile`: every tile, up to the diagonal when causal.
    pub fn dense(shape: AttentionShape, tile: TileShape) -> Self {
        let (l, nq) = (shape.seq_len, shape.seq_len.div_ceil(tile.q.max(1)));
        let blocks = (0..nq)
            .map(|i| {
                let r1 = ((i + 1) * tile.q).min(l);
                let keys = if shape.causal { r1 } else { l };
                BlockWork {
                    key_tiles: keys.div_ceil(tile.k.max(1)),
                    gathered_keys: 0,
                    count: shape.heads,
                }
            })
            .collect();
        Self {
            shape,
            tile,
            blocks,
            estimation: EstimationWork::default(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn shape(l: u64, d: u64, causal: bool) -> AttentionShape {
        AttentionShape {
            seq_len: l,
            heads: 1,
            kv_heads: 1,
            head_dim: d,
            causal,
            dtype_bytes: 2,
        }
    }

    #[test]
    fn dense_causal_counts_whole_diagonal_tiles() {
        // L=256, 64x64 tiles, causal: query tiles 0..4 see 1, 2, 3, 4 key tiles = 10 tiles.
        let w = AttentionWork::dense(shape(256, 64, true), TileShape { q: 64, k: 64 });
        assert_eq!(w.executed_tiles(), 10);
        assert_eq!(w.executed_pairs(), 10.0 * 4096.0);
        // 40960 executed pairs over 256 * 257 / 2 = 32896 causal pairs.
        assert!((w.density() - 40960.0 / 32896.0).abs() < 1e-12);
        // Non-causal: 4 x 4 tiles = all 65536 pairs.
        let full = AttentionWork::dense(shape(256, 64, false), TileShape { q: 64, k: 64 });
        assert_eq!(full.executed_tiles(), 16);
        assert_eq!(full.density(), 1.0);
        full.validate().unwrap();
    }

    #[test]
    fn head_by_head_follows_the_grid() {
        // 2 heads, 3 query tiles (causal: 1, 2, 3 tiles): head 0 then head 1, last tile first.
        let mut s = shape(192, 64, true);
        s.heads = 2;
        s.kv_heads = 2;
        let w = AttentionWork::dense(s, TileShape { q: 64, k: 64 });
        let tiles: Vec<u64> = w.head_by_head().unwrap().iter().map(|b| b.key_tiles).collect();
        assert_eq!(tiles, [3, 2, 1, 3, 2, 1]);
        // One entry per (head, query tile), head-major.
        let mut per_head = w.clone();
        per_head.blocks = (0..6)
            .map(|i| BlockWork {
                key_tiles: 10 + i,
                gathered_keys: 0,
                count: 1,
            })
            .collect();
        let tiles: Vec<u64> = per_head.head_by_head().unwrap().iter().map(|b| b.key_tiles).collect();
        assert_eq!(tiles, [12, 11, 10, 15, 14, 13]);
        // Any other grouping: no order.
        per_head.blocks.truncate(2);
        per_head.blocks[0].count = 5;
        assert!(per_head.head_by_head().is_none());
    }

    #[test]
    fn ragged_lengths_round_up() {
        // L=100, 64x64: query tile 0 sees keys < 64 (1 tile), tile 1 keys < 100 (2 tiles).
        let w = AttentionWork::dense(shape(100, 64, true), TileShape { q: 64, k: 64 });
        assert_eq!(w.executed_tiles(), 3);
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = shape(256, 64, true);
        s.kv_heads = 3;
        s.heads = 4;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("kv_heads") && e.contains("3"), "{e}");
        let mut w = AttentionWork::dense(shape(256, 64, true), TileShape { q: 64, k: 64 });
        w.blocks.pop();
        let e = w.validate().unwrap_err().to_string();
        assert!(e.contains("thread blocks") && e.contains("= 4"), "{e}");
    }
}
