//! Buffer-level tiling of a GEMM: tile sizes, loop order, and the DRAM traffic that follows.
//!
//! A tiling cuts `C[m, n] = A[m, k] · B[k, n]` into `mt x kt x nt` tiles visited by three
//! nested loops. Each buffer holds one tile of its operand (two when double-buffered), so an
//! operand is re-loaded whenever its tile index changes between consecutive iterations: an
//! operand whose innermost relevant loop is at position `j` is loaded `prod(trips[0..=j])`
//! times. `C` is written back when its index changes; a `C` tile visited again (the reduction
//! loop outside it) costs a partial-sum write and read-back per extra visit.

use super::super::compute::{self, ArrayShape, ComputeCost, Dataflow, GemmDims};
use super::super::gemm::Gemm;

/// A loop of the tile nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// Rows of `A` and `C`.
    M,
    /// The reduction.
    K,
    /// Columns of `B` and `C`.
    N,
}

/// The six loop orders, outermost first.
pub const ORDERS: [[Dim; 3]; 6] = [
    [Dim::M, Dim::N, Dim::K],
    [Dim::N, Dim::M, Dim::K],
    [Dim::M, Dim::K, Dim::N],
    [Dim::K, Dim::M, Dim::N],
    [Dim::N, Dim::K, Dim::M],
    [Dim::K, Dim::N, Dim::M],
];

/// Bytes per element of each operand in DRAM and in the buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperandBytes {
    /// Per logical `A` element in DRAM and in the input buffer (im2col footprint applied).
    pub a: f64,
    /// Per kept `B` element, with its index metadata.
    pub b: f64,
    /// Per final `C` element (footprint applied).
    pub c_final: f64,
    /// Per partial-sum `C` element spilled to DRAM (footprint applied).
    pub c_psum: f64,
    /// Per partial sum the array writes or reads inside the output buffer.
    pub psum_on_chip: f64,
    /// Per `A` element the array reads from the input buffer (no footprint: im2col expands on chip).
    pub a_on_chip: f64,
}

/// One buffer-level schedule of one GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tiling {
    /// Dataflow of the array for every tile.
    pub dataflow: Dataflow,
    /// Loop order, outermost first.
    pub order: [Dim; 3],
    /// Tile rows.
    pub mt: u64,
    /// Tile reduction length (logical, before N:M compression; a multiple of M).
    pub kt: u64,
    /// Tile columns.
    pub nt: u64,
}

/// DRAM traffic of a tiling, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    /// `A` loads.
    pub a: f64,
    /// `B` loads (kept elements and metadata).
    pub b: f64,
    /// Partial sums read back.
    pub c_read: f64,
    /// Final outputs and spilled partial sums written.
    pub c_write: f64,
}

impl Traffic {
    /// All bytes.
    pub fn total(&self) -> f64 {
        self.a + self.b + self.c_read + self.c_write
    }
}

impl Tiling {
    /// Tile counts along m, k, n.
    pub fn trips(&self, g: &Gemm) -> [u64; 3] {
        [g.m.div_ceil(self.mt), g.k.div_ceil(self.kt), g.n.div_ceil(self.nt)]
    }

    /// Times an operand depending on `deps` is (re)loaded.
    pub fn loads(&self, g: &Gemm, deps: [Dim; 2]) -> u64 {
        self.loads_with(self.trips(g), deps)
    }

    /// The loop order without the loops of one trip, which decides everything a loop order
    /// changes: two orders with the same key load and compute the same.
    pub fn effective_order(&self, g: &Gemm) -> [Option<Dim>; 3] {
        let trips = self.trips(g);
        let mut key = [None; 3];
        let mut i = 0;
        for d in self.order {
            if trips[dim_slot(d)] > 1 {
                key[i] = Some(d);
                i += 1;
            }
        }
        key
    }

    /// [`Tiling::loads`] with the trip counts precomputed: the product of the trips of every loop
    /// out to the innermost one `deps` varies with (1 if none varies).
    fn loads_with(&self, trips: [u64; 3], deps: [Dim; 2]) -> u64 {
        let (mut product, mut loads) = (1, 1);
        for d in self.order {
            let t = trips[dim_slot(d)];
            product *= t;
            if t > 1 && deps.contains(&d) {
                loads = product;
            }
        }
        loads
    }

    /// DRAM traffic in closed form.
    pub fn traffic(&self, g: &Gemm, bytes: &OperandBytes) -> Traffic {
        self.traffic_with(g, self.trips(g), bytes)
    }

    fn traffic_with(&self, g: &Gemm, trips: [u64; 3], bytes: &OperandBytes) -> Traffic {
        let [tm, tk, tn] = trips;
        let a_total = (g.m * g.k) as f64 * bytes.a;
        let b_total = (g.kept_k(g.k) * g.n) as f64 * bytes.b;
        let c_elems = (g.m * g.n) as f64;
        let a_loads = self.loads_with(trips, [Dim::M, Dim::K]) as f64 / (tm * tk) as f64;
        let b_loads = self.loads_with(trips, [Dim::K, Dim::N]) as f64 / (tk * tn) as f64;
        let c_visits = self.loads_with(trips, [Dim::M, Dim::N]) as f64 / (tm * tn) as f64;
        Traffic {
            a: a_total * a_loads,
            b: b_total * b_loads,
            c_read: c_elems * (c_visits - 1.0) * bytes.c_psum,
            c_write: c_elems * ((c_visits - 1.0) * bytes.c_psum + bytes.c_final),
        }
    }

    /// Estimated cycles of one instance, in closed form: the tiles fall into four classes by
    /// the outermost loop that advanced before them (none for the first tile), which fixes the
    /// operands they re-load; with double buffering each tile costs the larger of its compute
    /// and its loads (issued during the previous tile), else their sum. Edge tiles are averaged.
    /// Returns the estimate and the DRAM traffic it assumed.
    pub fn estimate(
        &self,
        g: &Gemm,
        bytes: &OperandBytes,
        compute_cycles: f64,
        bw: f64,
        double_buffered: bool,
    ) -> (f64, Traffic) {
        let trips = self.trips(g);
        let tiles: u64 = trips.iter().product();
        let t = |pos: usize| trips[dim_slot(self.order[pos])];
        let traffic = self.traffic_with(g, trips, bytes);
        let avg_a = (g.m * g.k) as f64 * bytes.a / (trips[0] * trips[1]) as f64;
        let avg_b = (g.kept_k(g.k) * g.n) as f64 * bytes.b / (trips[1] * trips[2]) as f64;
        let visits = self.loads_with(trips, [Dim::M, Dim::N]) as f64;
        let avg_c_swap = (traffic.c_write + traffic.c_read) / visits;
        let per_tile = compute_cycles / tiles as f64;
        let transfer = |b: f64| if b <= 0.0 { 0.0 } else { b / bw };
        // Bytes loaded before a tile whose loops at `changed` positions advanced.
        let load = |changed: &[usize]| {
            let moved = |d: Dim| changed.iter().any(|&p| self.order[p] == d && t(p) > 1);
            let mut b = 0.0;
            if moved(Dim::M) || moved(Dim::K) {
                b += avg_a;
            }
            if moved(Dim::K) || moved(Dim::N) {
                b += avg_b;
            }
            if moved(Dim::M) || moved(Dim::N) {
                b += avg_c_swap;
            }
            b
        };
        let classes = [
            ((t(0) - 1) as f64, load(&[0, 1, 2])),
            ((t(0) * (t(1) - 1)) as f64, load(&[1, 2])),
            ((t(0) * t(1) * (t(2) - 1)) as f64, load(&[2])),
        ];
        let mut total = transfer(avg_a + avg_b) + per_tile;
        for (count, bytes_in) in classes {
            total += count
                * if double_buffered {
                    per_tile.max(transfer(bytes_in))
                } else {
                    per_tile + transfer(bytes_in)
                };
        }
        (total + transfer(avg_c_swap), traffic)
    }

    /// Compute cost of every tile, summed in closed form over the (at most 8) tile shapes.
    pub fn compute_total(&self, g: &Gemm, array: ArrayShape, ideal_array: bool) -> ComputeCost {
        let mut total = ComputeCost::default();
        for (mlen, mcount) in pieces(g.m, self.mt) {
            for (klen, kcount) in pieces(g.k, self.kt) {
                for (nlen, ncount) in pieces(g.n, self.nt) {
                    let c = self.tile_cost(g, mlen, klen, nlen, array, ideal_array);
                    total.add_scaled(&c, mcount * kcount * ncount);
                }
            }
        }
        total
    }

    /// Compute cost of one `mlen x klen x nlen` tile.
    pub fn tile_cost(&self, g: &Gemm, mlen: u64, klen: u64, nlen: u64, array: ArrayShape, ideal: bool) -> ComputeCost {
        let dims = GemmDims {
            m: mlen,
            k: klen,
            kept_k: g.kept_k(klen),
            n: nlen,
        };
        compute::cost(dims, array, self.dataflow, ideal)
    }

    /// Buffer bytes one tile of each operand occupies: (A, B, C), one copy.
    pub fn footprint_bytes(&self, g: &Gemm, bytes: &OperandBytes) -> (f64, f64, f64) {
        let (mt, kt, nt) = (self.mt.min(g.m), self.kt.min(g.k), self.nt.min(g.n));
        (
            (mt * kt) as f64 * bytes.a,
            (g.kept_k(kt) * nt) as f64 * bytes.b,
            (mt * nt) as f64 * bytes.psum_on_chip.max(bytes.c_final),
        )
    }
}

/// Index of a dimension in (m, k, n) arrays.
pub fn dim_slot(d: Dim) -> usize {
    match d {
        Dim::M => 0,
        Dim::K => 1,
        Dim::N => 2,
    }
}

/// `len` cut into pieces of `tile`: (full length, count) and the remainder (length, 1).
pub fn pieces(len: u64, tile: u64) -> impl Iterator<Item = (u64, u64)> {
    let full = len / tile;
    let rem = len % tile;
    [(tile, full), (rem, 1)].into_iter().filter(|&(l, c)| l > 0 && c > 0)
}

/// Length of tile `i` of `len` cut by `tile`.
pub fn piece_len(len: u64, tile: u64, i: u64) -> u64 {
    (len - i * tile).min(tile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiling(order: [Dim; 3], mt: u64, kt: u64, nt: u64) -> Tiling {
        Tiling {
            dataflow: Dataflow::WeightStationary,
            order,
            mt,
            kt,
            nt,
        }
    }

    const BYTES: OperandBytes = OperandBytes {
        a: 1.0,
        b: 1.0,
        c_final: 1.0,
        c_psum: 4.0,
        psum_on_chip: 4.0,
        a_on_chip: 1.0,
    };

    #[test]
    fn reduction_innermost_writes_each_output_once() {
        let g = Gemm::dense(100, 64, 40);
        let t = tiling([Dim::M, Dim::N, Dim::K], 10, 16, 20).traffic(&g, &BYTES);
        // A re-read once per column tile (2), B once per row tile (10), C written once.
        assert_eq!(t.a, 100.0 * 64.0 * 2.0);
        assert_eq!(t.b, 64.0 * 40.0 * 10.0);
        assert_eq!((t.c_read, t.c_write), (0.0, 4000.0));
    }

    #[test]
    fn reduction_outermost_spills_partial_sums() {
        let g = Gemm::dense(100, 64, 40);
        let t = tiling([Dim::K, Dim::M, Dim::N], 10, 16, 20).traffic(&g, &BYTES);
        // 4 reduction tiles: 3 extra visits per output element, 4 bytes each way.
        assert_eq!(t.c_read, 4000.0 * 3.0 * 4.0);
        assert_eq!(t.c_write, 4000.0 * (3.0 * 4.0 + 1.0));
        // B's index changes every iteration (n innermost): loaded 4 * 10 * 2 times.
        assert_eq!(t.b, 64.0 * 40.0 * 10.0);
        // A stays while n runs: loaded once per (k, m).
        assert_eq!(t.a, 100.0 * 64.0);
    }

    #[test]
    fn single_tile_loads_everything_once() {
        let g = Gemm::dense(7, 9, 5);
        let t = tiling([Dim::N, Dim::K, Dim::M], 7, 9, 5);
        assert_eq!(t.traffic(&g, &BYTES).total(), 63.0 + 45.0 + 35.0);
    }

    #[test]
    fn pieces_cover_the_length() {
        let v: Vec<_> = pieces(10, 4).collect();
        assert_eq!(v, vec![(4, 2), (2, 1)]);
        assert_eq!(pieces(8, 4).collect::<Vec<_>>(), vec![(4, 2)]);
        assert_eq!(piece_len(10, 4, 2), 2);
    }
}
