//! The tiles of a tiling in loop order, each with the DRAM bytes it must load first and the
//! bytes written back after it. Walking the tiles one by one (not the cycles) is what lets the
//! pipeline model see stalls tile by tile at a cost of a few nanoseconds per tile.

use super::super::compute::{ArrayShape, ComputeCost};
use super::super::gemm::Gemm;
use super::tiling::{dim_slot, piece_len, OperandBytes, Tiling};

/// One tile as the pipeline sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileStep {
    /// The array's work on this tile.
    pub cost: ComputeCost,
    /// DRAM bytes to load before the tile can start (new `A`, new `B`, partial sums read back).
    pub load_bytes: f64,
    /// Whether the tile starts a new `C` tile (needs a free output-buffer slot).
    pub new_output: bool,
    /// DRAM bytes written back once the tile is done (its `C` tile leaves the buffer), else 0.
    pub writeback_bytes: f64,
}

/// Iterator over the tiles of one GEMM instance.
#[derive(Clone)]
pub struct TileStream<'a> {
    gemm: &'a Gemm,
    tiling: Tiling,
    bytes: OperandBytes,
    array: ArrayShape,
    ideal_array: bool,
    trips: [u64; 3],
    /// Loop counters in order position (outermost first).
    counters: [u64; 3],
    done: bool,
    prev: Option<[u64; 3]>,
}

impl<'a> TileStream<'a> {
    /// Starts at the first tile.
    pub fn new(gemm: &'a Gemm, tiling: Tiling, bytes: OperandBytes, array: ArrayShape, ideal_array: bool) -> Self {
        Self {
            gemm,
            tiling,
            bytes,
            array,
            ideal_array,
            trips: tiling.trips(gemm),
            counters: [0; 3],
            done: false,
            prev: None,
        }
    }

    /// Number of tiles.
    pub fn len(&self) -> u64 {
        self.trips.iter().product()
    }

    /// Whether the stream is empty (never: every GEMM has a tile).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (m, k, n) tile indices of the current counters.
    fn indices(&self) -> [u64; 3] {
        let mut idx = [0u64; 3];
        for (pos, d) in self.tiling.order.iter().enumerate() {
            idx[dim_slot(*d)] = self.counters[pos];
        }
        idx
    }

    fn advance(&mut self) {
        for pos in (0..3).rev() {
            let d = self.tiling.order[pos];
            self.counters[pos] += 1;
            if self.counters[pos] < self.trips[dim_slot(d)] {
                return;
            }
            self.counters[pos] = 0;
        }
        self.done = true;
    }

    /// Bytes of the `C` tile at (m, n) indices when it leaves the buffer after reduction tile `k`.
    fn c_bytes(&self, im: u64, ik: u64, inn: u64) -> f64 {
        let g = self.gemm;
        let elems = (piece_len(g.m, self.tiling.mt, im) * piece_len(g.n, self.tiling.nt, inn)) as f64;
        let last_k = ik + 1 == self.trips[1];
        elems * if last_k { self.bytes.c_final } else { self.bytes.c_psum }
    }

    /// Whether the next tile (after `idx`) keeps the same `C` tile.
    fn next_keeps_c(&self, idx: [u64; 3]) -> bool {
        let mut probe = self.clone();
        probe.advance();
        if probe.done {
            return false;
        }
        let next = probe.indices();
        next[0] == idx[0] && next[2] == idx[2]
    }
}

impl Iterator for TileStream<'_> {
    type Item = TileStep;

    fn next(&mut self) -> Option<TileStep> {
        if self.done {
            return None;
        }
        let g = self.gemm;
        let t = self.tiling;
        let [im, ik, inn] = self.indices();
        let (mlen, klen, nlen) = (
            piece_len(g.m, t.mt, im),
            piece_len(g.k, t.kt, ik),
            piece_len(g.n, t.nt, inn),
        );
        let (a_new, b_new, c_new) = match self.prev {
            None => (true, true, true),
            Some([pm, pk, pn]) => (pm != im || pk != ik, pk != ik || pn != inn, pm != im || pn != inn),
        };
        let mut load = 0.0;
        if a_new {
            load += (mlen * klen) as f64 * self.bytes.a;
        }
        if b_new {
            load += (g.kept_k(klen) * nlen) as f64 * self.bytes.b;
        }
        if c_new && ik > 0 {
            load += (mlen * nlen) as f64 * self.bytes.c_psum;
        }
        let writeback = if self.next_keeps_c([im, ik, inn]) {
            0.0
        } else {
            self.c_bytes(im, ik, inn)
        };
        let cost = t.tile_cost(g, mlen, klen, nlen, self.array, self.ideal_array);
        self.prev = Some([im, ik, inn]);
        self.advance();
        Some(TileStep {
            cost,
            load_bytes: load,
            new_output: c_new,
            writeback_bytes: writeback,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::compute::Dataflow;
    use super::super::tiling::ORDERS;
    use super::*;

    #[test]
    fn streamed_traffic_matches_the_closed_form_for_every_order() {
        let bytes = OperandBytes {
            a: 2.0,
            b: 2.375,
            c_final: 2.0,
            c_psum: 4.0,
            psum_on_chip: 4.0,
            a_on_chip: 2.0,
        };
        let array = ArrayShape { rows: 8, cols: 4 };
        let g = Gemm::dense(37, 72, 21).with_sparsity(Some(super::super::super::gemm::NmRatio { n: 2, m: 8 }));
        for order in ORDERS {
            for df in Dataflow::ALL {
                let tiling = Tiling {
                    dataflow: df,
                    order,
                    mt: 10,
                    kt: 16,
                    nt: 8,
                };
                let steps: Vec<TileStep> = TileStream::new(&g, tiling, bytes, array, false).collect();
                assert_eq!(steps.len() as u64, 4 * 5 * 3);
                let streamed: f64 = steps.iter().map(|s| s.load_bytes + s.writeback_bytes).sum();
                let closed = tiling.traffic(&g, &bytes).total();
                assert!((streamed - closed).abs() < 1e-6, "{order:?}: {streamed} vs {closed}");
                let compute: u64 = steps.iter().map(|s| s.cost.cycles).sum();
                assert_eq!(compute, tiling.compute_total(&g, array, false).cycles, "{order:?}");
            }
        }
    }
}
