//! The compute model: cycles and operand traffic of one GEMM on an R x C systolic array,
//! one module per dataflow, as SCALE-Sim splits them (`systolic_compute_{os,ws}.py`).
//!
//! Both dataflows cut the GEMM into *folds* (one array-sized piece of the stationary operand)
//! and run folds back to back, each paying a pipeline fill and drain. The counts are closed-form
//! per fold; nothing is materialized per cycle. In dense mode the cycle count equals SCALE-Sim's
//! (its `Total Cycles` column reports the 0-based index of the last cycle, i.e. this count
//! minus one; see `tests/scalesim_golden.rs`).
//!
//! N:M sparsity shortens the reduction: the PEs hold only kept elements of `B` and pick the
//! matching `A` element of each group by its index, so the array sees a reduction of
//! `kept_k = ceil(k / M) * N` while every `A` element is still read (the selectors need all `M`
//! candidates of a group).

mod os;
mod ws;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which operand stays in the PEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dataflow {
    /// Each PE accumulates one output element; `A` and `B` stream in (SCALE-Sim `os`).
    #[serde(rename = "os")]
    OutputStationary,
    /// Each PE holds one element of `B`; `A` streams and partial sums flow out (SCALE-Sim `ws`).
    #[serde(rename = "ws")]
    WeightStationary,
}

impl Dataflow {
    /// Both dataflows, in the order the scheduler tries them.
    pub const ALL: [Dataflow; 2] = [Dataflow::WeightStationary, Dataflow::OutputStationary];

    /// SCALE-Sim's short name.
    pub fn short_name(self) -> &'static str {
        match self {
            Dataflow::OutputStationary => "os",
            Dataflow::WeightStationary => "ws",
        }
    }
}

impl fmt::Display for Dataflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// The PE grid: `rows` x `cols` multiply-accumulate units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayShape {
    /// PE rows (SCALE-Sim `ArrayHeight`).
    pub rows: u64,
    /// PE columns (SCALE-Sim `ArrayWidth`).
    pub cols: u64,
}

impl ArrayShape {
    /// Number of PEs.
    pub fn pes(self) -> u64 {
        self.rows * self.cols
    }
}

/// The dimensions of one GEMM (or one tile of it) as the compute model sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GemmDims {
    /// Rows of `A` and `C`.
    pub m: u64,
    /// Logical reduction length (every `A` element along it is read).
    pub k: u64,
    /// Reduction length the PEs execute (`k` when dense, the kept count under N:M).
    pub kept_k: u64,
    /// Columns of `B` and `C`.
    pub n: u64,
}

/// What one GEMM costs the array, in cycles and element accesses of the on-chip buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ComputeCost {
    /// Cycles from the first operand entering the array to the last result leaving it.
    pub cycles: u64,
    /// Number of folds.
    pub folds: u64,
    /// Multiply-accumulates performed (`m * kept_k * n`).
    pub macs: u64,
    /// Sum over folds of the mapped PEs' share of the array (divide by `folds` for SCALE-Sim's
    /// mapping efficiency).
    pub mapped_pe_share: f64,
    /// `A` elements read from the input buffer (SCALE-Sim `SRAM IFMAP Reads`).
    pub a_reads: u64,
    /// Kept `B` elements read from the weight buffer (SCALE-Sim `SRAM Filter Reads`).
    pub b_reads: u64,
    /// `C` elements (partial or final) written to the output buffer.
    pub c_writes: u64,
    /// Partial sums read back from the output buffer to continue accumulating.
    pub c_reads: u64,
}

impl ComputeCost {
    /// Adds `count` copies of `other`.
    pub fn add_scaled(&mut self, other: &ComputeCost, count: u64) {
        self.cycles += other.cycles * count;
        self.folds += other.folds * count;
        self.macs += other.macs * count;
        self.mapped_pe_share += other.mapped_pe_share * count as f64;
        self.a_reads += other.a_reads * count;
        self.b_reads += other.b_reads * count;
        self.c_writes += other.c_writes * count;
        self.c_reads += other.c_reads * count;
    }

    /// SCALE-Sim's mapping efficiency: the mean share of PEs mapped per fold, in [0, 1].
    pub fn mapping_efficiency(&self) -> f64 {
        if self.folds == 0 {
            0.0
        } else {
            self.mapped_pe_share / self.folds as f64
        }
    }
}

/// Cost of `dims` on `array` under `dataflow`. With `ideal_array` the array is a perfect MAC
/// engine (no fill, drain or unmapped PEs: `ceil(macs / PEs)` cycles), the ablation that removes
/// under-utilization.
pub fn cost(dims: GemmDims, array: ArrayShape, dataflow: Dataflow, ideal_array: bool) -> ComputeCost {
    let mut c = match dataflow {
        Dataflow::OutputStationary => os::cost(dims, array),
        Dataflow::WeightStationary => ws::cost(dims, array),
    };
    if ideal_array {
        c.cycles = c.macs.div_ceil(array.pes());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    const A8: ArrayShape = ArrayShape { rows: 8, cols: 8 };

    fn dense(m: u64, k: u64, n: u64) -> GemmDims {
        GemmDims { m, k, kept_k: k, n }
    }

    #[test]
    fn one_fold_by_hand() {
        // 8x8x8 on 8x8: OS streams k = 8 values through an 8+8 skew: 8 + 8 + 8 - 2 = 22 cycles;
        // WS loads 8 weight rows, skews them (2*8), then streams m = 8 rows past 8 columns: 30.
        assert_eq!(cost(dense(8, 8, 8), A8, Dataflow::OutputStationary, false).cycles, 22);
        assert_eq!(cost(dense(8, 8, 8), A8, Dataflow::WeightStationary, false).cycles, 30);
    }

    #[test]
    fn folds_multiply_per_fold_cycles() {
        // OS: ceil(20/8) * ceil(12/8) = 6 folds of 30 + 14 cycles.
        let os = cost(dense(20, 30, 12), A8, Dataflow::OutputStationary, false);
        assert_eq!((os.folds, os.cycles), (6, 6 * 44));
        // WS: ceil(30/8) * ceil(12/8) = 8 folds of 16 + 8 + 20 - 2 cycles.
        let ws = cost(dense(20, 30, 12), A8, Dataflow::WeightStationary, false);
        assert_eq!((ws.folds, ws.cycles), (8, 8 * 42));
        assert_eq!(ws.a_reads, 2 * 20 * 30);
        assert_eq!(ws.b_reads, 30 * 12);
        assert_eq!(ws.c_writes, 4 * 20 * 12);
        assert_eq!(ws.c_reads, 3 * 20 * 12);
    }

    #[test]
    fn sparsity_shortens_the_executed_reduction_only() {
        let sparse = GemmDims {
            m: 256,
            k: 1024,
            kept_k: 256,
            n: 8,
        };
        let d = cost(dense(256, 1024, 8), A8, Dataflow::WeightStationary, false);
        let s = cost(sparse, A8, Dataflow::WeightStationary, false);
        assert_eq!(s.folds * 4, d.folds);
        assert_eq!(s.cycles * 4, d.cycles);
        assert_eq!(s.a_reads, d.a_reads, "every activation is still read by the selectors");
        assert_eq!(s.macs * 4, d.macs);
    }

    #[test]
    fn ideal_array_is_macs_over_pes() {
        let c = cost(dense(9, 9, 9), A8, Dataflow::OutputStationary, true);
        assert_eq!(c.cycles, (9u64 * 9 * 9).div_ceil(64));
    }
}
