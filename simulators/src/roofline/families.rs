//! Analytic work descriptions of the method families, for lengths where running a method on a
//! workload is too slow (1M tokens). Each counts the tiles the family's kernel executes per query
//! tile, the same way the masks in `sparselab-kernels` do, and the estimation cost with the same
//! conventions as the methods' `EstimationCost` (`kernels/src/method/cost.rs`): the harness tests
//! both against the real selection on small workloads.
//!
//! | family | per query tile `[r0, r1)` |
//! |---|---|
//! | dense | `ceil(r1 / tile_k)` tiles causal, `ceil(L / tile_k)` otherwise |
//! | a-shape (`sink`, `local`) | tiles covering `[0, sink)` united with those covering `[r0 - local + 1, r1)` |
//! | vertical-slash (`v`, `s`, `spread`) | local slashes: one range `[r0 - s_local + 1, r1)` cut into `tile_k` blocks; spread slashes: a range of `tile_q` keys each, at random offsets, merged when they touch; verticals outside those blocks gathered |
//! | block-topk (`k`, `block`) | `min(k, visible blocks)` tiles of `block x block` |

use super::work::{AttentionShape, AttentionWork, BlockWork, EstimationWork, TileShape};
use crate::error::{Result, SimulatorError};

/// Queries the vertical-slash estimate looks at (MInference's `last_q`).
pub const VS_LAST_QUERIES: u64 = 64;
/// Leading columns vertical-slash always keeps.
pub const VS_FORCED_COLUMNS: u64 = 30;
/// Most local diagonals vertical-slash always keeps.
pub const VS_FORCED_DIAGONALS: u64 = 100;
/// Smallest vertical budget (smaller ones are raised, as MInference does).
pub const VS_MIN_VERTICALS: u64 = 30;
/// Smallest slash budget.
pub const VS_MIN_SLASHES: u64 = 50;
/// Rows per block of MInference's index conversion.
pub const VS_CONVERT_BLOCK: u64 = 64;

/// FLOPs per softmax element (max, subtract, exp, sum, divide), as the methods count them.
const SOFTMAX_FLOPS: f64 = 5.0;
/// Bytes per index written (int32).
const INDEX_BYTES: f64 = 4.0;

/// Comparisons of sorting `n` scores: `n log2 n`.
fn sort(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else {
        n * n.log2()
    }
}

fn per_tile<F: Fn(u64, u64) -> BlockWork>(shape: &AttentionShape, tile: TileShape, f: F) -> Vec<BlockWork> {
    let l = shape.seq_len;
    (0..l.div_ceil(tile.q))
        .map(|i| {
            let r0 = i * tile.q;
            f(r0, (r0 + tile.q).min(l))
        })
        .collect()
}

/// Dense attention (no estimation).
pub fn dense(shape: AttentionShape, tile: TileShape) -> Result<AttentionWork> {
    shape.validate()?;
    tile.validate()?;
    Ok(AttentionWork::dense(shape, tile))
}

/// A-shape (StreamingLLM): the first `sink` keys and the `local` most recent ones (the query
/// included); causal only, no estimation.
pub fn a_shape(shape: AttentionShape, tile: TileShape, sink: u64, local: u64) -> Result<AttentionWork> {
    shape.validate()?;
    tile.validate()?;
    require_causal("a-shape", &shape)?;
    if local == 0 {
        return Err(SimulatorError::bad_workload(
            "local",
            local,
            "at least 1 (the query itself)",
        ));
    }
    let tk = tile.k;
    let blocks = per_tile(&shape, tile, |r0, r1| {
        let sink_tiles = sink.min(r1).div_ceil(tk);
        let window_first = (r0 + 1).saturating_sub(local) / tk;
        let window_last = r1.div_ceil(tk); // exclusive
        let window = window_last - window_first.max(sink_tiles).min(window_last);
        BlockWork {
            key_tiles: sink_tiles + window,
            gathered_keys: 0,
            count: shape.heads,
        }
    });
    Ok(AttentionWork {
        shape,
        tile,
        blocks,
        estimation: EstimationWork::default(),
    })
}

/// Vertical-slash (MInference) with `v` columns and `s` diagonals per head, of which a fraction
/// `spread` in [0, 1] lies at random offsets beyond the local ones (REFERENCE.md §1: spread
/// diagonals cost a whole tile in every row block, 5x the work of local ones at the same budget).
/// Verticals are the 30 forced leading columns plus the rest spread uniformly over the sequence.
/// Estimation: last-64-query scores, top-k of columns and diagonals, MInference's index conversion.
pub fn vertical_slash(shape: AttentionShape, tile: TileShape, v: u64, s: u64, spread: f64) -> Result<AttentionWork> {
    shape.validate()?;
    tile.validate()?;
    require_causal("vertical-slash", &shape)?;
    if !(0.0..=1.0).contains(&spread) {
        return Err(SimulatorError::bad_workload("spread", spread, "a fraction in [0, 1]"));
    }
    let l = shape.seq_len;
    let (v, s) = (v.max(VS_MIN_VERTICALS).min(l), s.max(VS_MIN_SLASHES).min(l));
    let forced_local = s.min(VS_FORCED_DIAGONALS);
    let n_spread = ((spread * s as f64).round() as u64).min(s - forced_local);
    let n_local = s - n_spread;
    let (tq, tk) = (tile.q as f64, tile.k as f64);
    let blocks = per_tile(&shape, tile, |r0, r1| {
        let visible_tiles = r1.div_ceil(tile.k);
        // Local diagonals 0..n_local cover keys [r0 - n_local + 1, r1): one range, cut into blocks.
        let local_keys = r1 - (r0 + 1).saturating_sub(n_local);
        let local_tiles = local_keys.div_ceil(tile.k);
        // Spread diagonals: offsets uniform in [n_local, L); visible when the offset is < r1. Each
        // covers tile_q keys; random ranges merged when they touch cover 1 - exp(-x) of the span.
        let span = r1.saturating_sub(n_local) as f64;
        let spread_tiles = if n_spread == 0 || span <= 0.0 || l <= n_local {
            0.0
        } else {
            let visible = n_spread as f64 * (span / (l - n_local) as f64).min(1.0);
            let covered = span * (1.0 - (-visible * tq / span).exp());
            (covered / tk).ceil()
        };
        let key_tiles = (local_tiles + spread_tiles as u64).min(visible_tiles);
        // Verticals: 30 forced + the rest uniform over [30, L); those under slash blocks are free
        // (the forced ones only while the local band still reaches key 0).
        let band_reaches_start = r0 < n_local;
        let forced = if band_reaches_start {
            0.0
        } else {
            VS_FORCED_COLUMNS.min(v).min(r1) as f64
        };
        let rest = (v - VS_FORCED_COLUMNS.min(v)) as f64
            * (r1.saturating_sub(VS_FORCED_COLUMNS) as f64 / l.saturating_sub(VS_FORCED_COLUMNS).max(1) as f64);
        let covered_share = (key_tiles as f64 * tk / r1 as f64).min(1.0);
        let gathered = (forced + rest * (1.0 - covered_share)).round() as u64;
        BlockWork {
            key_tiles,
            gathered_keys: gathered,
            count: shape.heads,
        }
    });
    Ok(AttentionWork {
        shape,
        tile,
        blocks,
        estimation: vertical_slash_estimation(&shape, v, s),
    })
}

/// What MInference's last-64-query estimate and index conversion cost (effective budgets `v`, `s`):
/// per head `2 last L D` tensor FLOPs, `last L (5 + 2) + 2 L log2 L` vector FLOPs, K and the last Q
/// read once, `v + s` indices written; the conversion adds `blocks (v + s)` operations and writes
/// `blocks (2 + v + s)` indices, with `blocks = ceil(L / 64)`. Three launches.
pub fn vertical_slash_estimation(shape: &AttentionShape, v: u64, s: u64) -> EstimationWork {
    let (l, d, b) = (shape.seq_len as f64, shape.head_dim as f64, shape.dtype_bytes as f64);
    let last = VS_LAST_QUERIES.min(shape.seq_len) as f64;
    let row_blocks = shape.seq_len.div_ceil(VS_CONVERT_BLOCK) as f64;
    let budget = (v + s) as f64;
    let h = shape.heads as f64;
    EstimationWork {
        tensor_flops: h * 2.0 * last * l * d,
        vector_flops: h * (last * l * (SOFTMAX_FLOPS + 2.0) + 2.0 * sort(l) + row_blocks * budget),
        bytes: h * (l * d * b + last * d * b + INDEX_BYTES * budget + INDEX_BYTES * row_blocks * (2.0 + budget)),
        launches: 3,
    }
}

/// Block-topk (MInference's block-sparse): `k` key blocks of `block` tokens per query block
/// (all visible ones when fewer), tiles `block x block`. Estimation: mean-pool Q and K, the pooled
/// `Q K^T`, a sort per query block, the indices written. Two launches.
pub fn block_topk(shape: AttentionShape, k: u64, block: u64) -> Result<AttentionWork> {
    shape.validate()?;
    if k == 0 {
        return Err(SimulatorError::bad_workload("k", k, "at least 1 block"));
    }
    let tile = TileShape { q: block, k: block };
    tile.validate()?;
    let nb = shape.seq_len.div_ceil(block);
    let blocks: Vec<BlockWork> = (0..nb)
        .map(|qb| BlockWork {
            key_tiles: k.min(if shape.causal { qb + 1 } else { nb }),
            gathered_keys: 0,
            count: shape.heads,
        })
        .collect();
    let kept: u64 = blocks.iter().map(|b| b.key_tiles * b.count).sum();
    let (l, d, bytes) = (shape.seq_len as f64, shape.head_dim as f64, shape.dtype_bytes as f64);
    let (nbf, h) = (nb as f64, shape.heads as f64);
    let estimation = EstimationWork {
        tensor_flops: h * 2.0 * nbf * nbf * d,
        vector_flops: h * (2.0 * l * d + nbf * sort(nbf)),
        bytes: h * (2.0 * l * d * bytes + 2.0 * nbf * d * bytes) + INDEX_BYTES * kept as f64,
        launches: 2,
    };
    Ok(AttentionWork {
        shape,
        tile,
        blocks,
        estimation,
    })
}

fn require_causal(family: &str, shape: &AttentionShape) -> Result<()> {
    if !shape.causal {
        return Err(SimulatorError::bad_workload(
            "causal",
            false,
            format!("{family} is defined for causal attention (prefill); pass --causal"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::work::tests::shape;
    use super::*;

    const T64: TileShape = TileShape { q: 64, k: 64 };

    #[test]
    fn a_shape_counts_sink_and_window_tiles_once() {
        // L=512, sink 64, local 128, 64x64 tiles. Query tile i (rows 64i..64i+63) needs the sink
        // tile 0 and keys [64i - 127, 64i + 64): tiles i-2 (clipped at 0) ..= i.
        // i=0: {0}; 1: {0,1}; 2: {0,1,2}; 3: {0,1,2,3}; 4: {0,2,3,4} ... 7: {0,5,6,7} -> 1+2+3+4+4*4 = 26.
        let w = a_shape(shape(512, 64, true), T64, 64, 128).unwrap();
        assert_eq!(w.executed_tiles(), 26);
        // A window covering everything is dense.
        let all = a_shape(shape(512, 64, true), T64, 0, 512).unwrap();
        assert_eq!(
            all.executed_tiles(),
            AttentionWork::dense(shape(512, 64, true), T64).executed_tiles()
        );
        assert!(a_shape(shape(512, 64, false), T64, 64, 128).is_err());
    }

    #[test]
    fn local_slashes_cost_a_band_of_tiles() {
        // L=1024, s=128 local (spread 0), v=30 (the forced leading columns): query tile i covers
        // keys [64i - 127, 64i + 64) -> ceil((64 + 127) / 64) = 3 tiles once i >= 2 (1, 2 before).
        let w = vertical_slash(shape(1024, 64, true), T64, 30, 128, 0.0).unwrap();
        let tiles: Vec<u64> = w.blocks.iter().map(|b| b.key_tiles).collect();
        assert_eq!(&tiles[..4], &[1, 2, 3, 3]);
        assert_eq!(tiles.iter().sum::<u64>(), 1 + 2 + 3 * 14);
        // The 30 leading columns are under the band for the first tiles, gathered later.
        assert_eq!(w.blocks[0].gathered_keys, 0);
        assert_eq!(w.blocks[15].gathered_keys, 30);
        assert_eq!(w.estimation.launches, 3);
    }

    #[test]
    fn spread_slashes_cost_more_than_local_ones() {
        let local = vertical_slash(shape(16384, 128, true), T64, 1000, 2048, 0.0).unwrap();
        let spread = vertical_slash(shape(16384, 128, true), T64, 1000, 2048, 0.5).unwrap();
        assert!(
            spread.density() > 3.0 * local.density(),
            "{} vs {}",
            spread.density(),
            local.density()
        );
        assert!(vertical_slash(shape(16384, 128, true), T64, 1000, 2048, 1.5).is_err());
    }

    #[test]
    fn block_topk_keeps_k_or_all_visible() {
        // L=512 in 64-blocks, k=3, causal: query blocks see 1, 2, 3, 3, 3, 3, 3, 3 -> 21 tiles.
        let w = block_topk(shape(512, 64, true), 3, 64).unwrap();
        assert_eq!(w.executed_tiles(), 21);
        // Pooled scores: 8x8 blocks x 64 dims x 2 FLOPs.
        assert_eq!(w.estimation.tensor_flops, 2.0 * 64.0 * 64.0);
        let full = block_topk(shape(512, 64, false), 3, 64).unwrap();
        assert_eq!(full.executed_tiles(), 24);
    }
}
