//! The offline scheduler: for each GEMM, before anything runs, pick the dataflow, tile sizes and
//! loop order that minimize the estimated time, subject to every tile fitting its buffer.
//!
//! Candidates per dimension are the array-aligned sizes `unit * 2^i` below the dimension plus
//! the whole dimension; `unit` is the array side along a stationary dimension, `R * M` along the
//! reduction (so an N:M tile compresses to whole groups). Each candidate is scored by
//! [`Tiling::estimate`] (closed form, per class of tiles); the best [`SHORTLIST`] distinct tile
//! shapes are then measured by the pipeline model and the fastest is kept.

use super::config::AcceleratorConfig;
use super::effects::Effects;
use super::gemm::Gemm;
use super::memory::tiling::{Dim, ORDERS};
use super::memory::{Capacity, OperandBytes, Tiling};
use crate::accelerator::compute::Dataflow;
use crate::error::{Result, SimulatorError};

/// A chosen schedule and its estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The tiling.
    pub tiling: Tiling,
    /// Estimated cycles of one instance.
    pub estimated_cycles: f64,
    /// Element sizes used.
    pub bytes: OperandBytes,
}

/// Candidate tile sizes: `unit * 2^i < len`, and `len`.
fn candidates(len: u64, unit: u64) -> Vec<u64> {
    let mut v = Vec::new();
    let mut t = unit.max(1);
    while t < len {
        v.push(t);
        t = t.saturating_mul(2);
    }
    v.push(len);
    v
}

/// DRAM bytes per cycle under `effects` (infinite when DRAM stalls are switched off).
pub fn bandwidth(config: &AcceleratorConfig, effects: &Effects) -> f64 {
    if effects.dram_stalls {
        config.dram_bytes_per_cycle()
    } else {
        f64::INFINITY
    }
}

/// How many of the best-estimated schedules [`plans`] returns for the pipeline to measure.
pub const SHORTLIST: usize = 6;

/// The best-estimated schedule of `gemm` with `share` of each buffer.
pub fn plan(gemm: &Gemm, config: &AcceleratorConfig, effects: &Effects, share: f64) -> Result<Plan> {
    let mut v = plans(gemm, config, effects, share)?;
    Ok(v.swap_remove(0))
}

/// The [`SHORTLIST`] best-estimated schedules of `gemm` with `share` of each buffer, best first
/// (the estimate smooths per-tile bursts that the pipeline model sees, so callers measure these).
pub fn plans(gemm: &Gemm, config: &AcceleratorConfig, effects: &Effects, share: f64) -> Result<Vec<Plan>> {
    gemm.validate()?;
    let array = config.array_shape();
    let bytes = OperandBytes::for_gemm(config, gemm, effects);
    let capacity = Capacity::of(config, share);
    let bw = bandwidth(config, effects);
    let db = config.memory.double_buffered;
    let group = gemm.sparse_b.map_or(1, |nm| u64::from(nm.m));
    let k_unit = array.rows * group;
    let mut shortlist: Vec<Scored> = Vec::with_capacity(SHORTLIST + 1);
    for &dataflow in config.array.dataflow.candidates() {
        // Rows of A: the array's row count under OS; under WS a streamed length, kept at least
        // as long as the fill so tiles do not degenerate.
        let m_unit = array.rows;
        for &nt in &candidates(gemm.n, array.cols) {
            for &kt in &candidates(gemm.k, k_unit) {
                for &mt in &candidates(gemm.m, m_unit) {
                    let probe = Tiling {
                        dataflow,
                        order: ORDERS[0],
                        mt,
                        kt,
                        nt,
                    };
                    if !capacity.fits(&probe, gemm, &bytes) {
                        continue;
                    }
                    let compute = probe.compute_total(gemm, array, !effects.array_underuse).cycles as f64;
                    let tiles: u64 = probe.trips(gemm).iter().product();
                    let mut seen: Vec<[Option<Dim>; 3]> = Vec::with_capacity(ORDERS.len());
                    for order in ORDERS {
                        let tiling = Tiling { order, ..probe };
                        let key = tiling.effective_order(gemm);
                        if seen.contains(&key) {
                            continue;
                        }
                        seen.push(key);
                        let (est, traffic) = tiling.estimate(gemm, &bytes, compute, bw, db);
                        keep_best(&mut shortlist, (est, traffic.total(), tiles, tiling));
                    }
                }
            }
        }
    }
    if shortlist.is_empty() {
        return Err(smallest_tile_error(gemm, config, &bytes, capacity, k_unit, share));
    }
    Ok(shortlist
        .into_iter()
        .map(|(est, _, _, tiling)| Plan {
            tiling,
            estimated_cycles: est,
            bytes,
        })
        .collect())
}

/// A scored candidate: (estimated cycles, DRAM bytes, tiles, tiling).
type Scored = (f64, f64, u64, Tiling);

/// Estimates within this relative distance count as a tie, broken by less DRAM traffic (energy),
/// then fewer tiles.
pub const TIE: f64 = 1e-3;

/// Inserts `cand` into the sorted shortlist, keeping [`SHORTLIST`] entries of distinct tile
/// shapes (only the best loop order of a shape stays, so the shortlist spans shapes).
fn keep_best(list: &mut Vec<Scored>, cand: Scored) {
    let same_shape = |a: &Tiling, b: &Tiling| (a.dataflow, a.mt, a.kt, a.nt) == (b.dataflow, b.mt, b.kt, b.nt);
    let before = |a: &Scored, b: &Scored| {
        if a.0 < b.0 * (1.0 - TIE) {
            true
        } else if a.0 > b.0 * (1.0 + TIE) {
            false
        } else {
            (a.1, a.2) < (b.1, b.2)
        }
    };
    if let Some(i) = list.iter().position(|x| same_shape(&x.3, &cand.3)) {
        if !before(&cand, &list[i]) {
            return;
        }
        list.remove(i);
    }
    if list.len() == SHORTLIST && !before(&cand, &list[SHORTLIST - 1]) {
        return;
    }
    let pos = list.iter().position(|x| before(&cand, x)).unwrap_or(list.len());
    list.insert(pos, cand);
    list.truncate(SHORTLIST);
}

/// The error for a GEMM whose smallest tile does not fit: names the first buffer that is short.
fn smallest_tile_error(
    g: &Gemm,
    config: &AcceleratorConfig,
    bytes: &OperandBytes,
    capacity: Capacity,
    k_unit: u64,
    share: f64,
) -> SimulatorError {
    let array = config.array_shape();
    let t = Tiling {
        dataflow: Dataflow::WeightStationary,
        order: ORDERS[0],
        mt: g.m.min(array.rows),
        kt: g.k.min(k_unit),
        nt: g.n.min(array.cols),
    };
    let (a, b, c) = t.footprint_bytes(g, bytes);
    let copies = if config.memory.double_buffered { 2.0 } else { 1.0 };
    let total = |per_tile: f64| (per_tile * copies / share).ceil() as u64;
    let shared = if share < 1.0 {
        " (shared by two interleaved GEMMs)"
    } else {
        ""
    };
    let (buffer, what, needed, available) = if a > capacity.a {
        (
            "memory.ifmap_kib",
            format!("{}x{} input tile{shared}", t.mt, t.kt),
            total(a),
            config.memory.ifmap_kib,
        )
    } else if b > capacity.b {
        (
            "memory.filter_kib",
            format!("{}x{} weight tile{shared}", t.kt, t.nt),
            total(b),
            config.memory.filter_kib,
        )
    } else {
        (
            "memory.ofmap_kib",
            format!("{}x{} output tile{shared}", t.mt, t.nt),
            total(c),
            config.memory.ofmap_kib,
        )
    };
    SimulatorError::BufferTooSmall {
        buffer,
        what,
        needed_bytes: needed,
        available_bytes: available.saturating_mul(1024),
        double_buffered: config.memory.double_buffered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_aligned_and_end_at_the_dimension() {
        assert_eq!(candidates(100, 32), vec![32, 64, 100]);
        assert_eq!(candidates(32, 32), vec![32]);
        assert_eq!(candidates(5, 32), vec![5]);
    }

    #[test]
    fn ideal_memory_runs_one_tile() {
        let cfg = AcceleratorConfig::ideal(8, 8, Dataflow::OutputStationary);
        let p = plan(&Gemm::dense(300, 40, 3), &cfg, &Effects::ALL_ON, 1.0).unwrap();
        assert_eq!((p.tiling.mt, p.tiling.kt, p.tiling.nt), (300, 40, 3));
        assert_eq!(p.tiling.dataflow, Dataflow::OutputStationary);
    }

    #[test]
    fn small_buffers_force_tiles_that_fit() {
        let mut cfg = AcceleratorConfig::preset("vcu1525").unwrap();
        cfg.memory.ifmap_kib = 64;
        let g = Gemm::dense(50_000, 576, 64);
        let p = plan(&g, &cfg, &Effects::ALL_ON, 1.0).unwrap();
        let (a, _, _) = p.tiling.footprint_bytes(&g, &p.bytes);
        assert!(
            a * 2.0 <= 64.0 * 1024.0,
            "A tile of {a} bytes does not fit twice in 64 KiB"
        );
    }

    #[test]
    fn a_tile_that_cannot_fit_is_a_named_error() {
        let mut cfg = AcceleratorConfig::preset("vcu1525").unwrap();
        // Big enough for a dense 64x32 weight tile, too small once two GEMMs share it.
        cfg.memory.filter_kib = 8;
        let g = Gemm::dense(1000, 1000, 1000);
        let e = plan(&g, &cfg, &Effects::ALL_ON, 0.5).unwrap_err().to_string();
        assert!(e.contains("memory.filter_kib") && e.contains("weight tile"), "{e}");
    }
}
