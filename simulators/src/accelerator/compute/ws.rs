//! Weight-stationary dataflow (SCALE-Sim `systolic_compute_ws.py`).
//!
//! The array holds an `R x C` block of `B` (`R` executed reduction indices by `C` columns).
//! Loading it takes `R` cycles; then the `m` rows of `A` stream through with a skew of `R - 1`
//! cycles down the rows and `C - 1` across the columns, so a fold lasts `2R + C + m - 2` cycles.
//! There are `ceil(kept_k / R) * ceil(n / C)` folds; every fold but the first along the
//! reduction reads back and re-writes the partial sums of its `m x C` output block.

use super::{ArrayShape, ComputeCost, GemmDims};

/// Cost of `dims` under weight stationarity.
pub(super) fn cost(dims: GemmDims, array: ArrayShape) -> ComputeCost {
    let (r, c) = (array.rows, array.cols);
    let row_folds = dims.kept_k.div_ceil(r);
    let col_folds = dims.n.div_ceil(c);
    let folds = row_folds * col_folds;
    let per_fold = 2 * r + c + dims.m - 2;
    ComputeCost {
        cycles: folds * per_fold,
        folds,
        macs: dims.m * dims.kept_k * dims.n,
        mapped_pe_share: (dims.kept_k * dims.n) as f64 / array.pes() as f64,
        a_reads: col_folds * dims.m * dims.k,
        b_reads: dims.kept_k * dims.n,
        c_writes: row_folds * dims.m * dims.n,
        c_reads: (row_folds - 1) * dims.m * dims.n,
    }
}
