//! Output-stationary dataflow (SCALE-Sim `systolic_compute_os.py`).
//!
//! The array holds an `R x C` block of `C`: rows of `A` enter from the left, columns of `B`
//! from the top, both skewed by one cycle per PE. A fold streams the executed reduction
//! (`kept_k` values) and drains before the next fold starts, so it lasts
//! `kept_k + (R - 1) + (C - 1)` cycles; there are `ceil(m / R) * ceil(n / C)` folds.

use super::{ArrayShape, ComputeCost, GemmDims};

/// Cost of `dims` under output stationarity.
pub(super) fn cost(dims: GemmDims, array: ArrayShape) -> ComputeCost {
    let (r, c) = (array.rows, array.cols);
    let row_folds = dims.m.div_ceil(r);
    let col_folds = dims.n.div_ceil(c);
    let folds = row_folds * col_folds;
    let per_fold = dims.kept_k + r + c - 2;
    ComputeCost {
        cycles: folds * per_fold,
        folds,
        macs: dims.m * dims.kept_k * dims.n,
        // Summed over folds, the mapped rows x columns tile the whole m x n output once.
        mapped_pe_share: (dims.m * dims.n) as f64 / array.pes() as f64,
        // Each row fold re-reads its rows of A once per column fold, and vice versa for B.
        a_reads: col_folds * dims.m * dims.k,
        b_reads: row_folds * dims.kept_k * dims.n,
        c_writes: dims.m * dims.n,
        c_reads: 0,
    }
}
