//! Counting conventions for [`EstimationCost`]: what a GPU implementation of a
//! method's estimation reads, writes and computes. Shared so that every method
//! counts softmax, sorting and index writes the same way.

use super::EstimationCost;

/// Bytes per Q/K element read by an estimation kernel (bf16, as the papers run).
pub(crate) const ELEM_BYTES: f64 = 2.0;
/// Bytes per index written (int32, as in MInference's and FlexPrefill's kernels).
pub(crate) const INDEX_BYTES: f64 = 4.0;
/// FLOPs per softmax element: max, subtract, exp, sum, divide.
pub(crate) const SOFTMAX_FLOPS: f64 = 5.0;

/// `C[m, n] = A[m, k] B[n, k]^T`: 2 m n k FLOPs.
pub(crate) fn gemm(m: usize, n: usize, k: usize) -> f64 {
    2.0 * m as f64 * n as f64 * k as f64
}

/// Comparisons of sorting (or a radix top-k over) `n` scores: `n log2 n`.
pub(crate) fn sort(n: usize) -> f64 {
    let n = n as f64;
    if n <= 1.0 {
        0.0
    } else {
        n * n.log2()
    }
}

/// Bytes of reading `rows` rows of `dim` elements once.
pub(crate) fn read_rows(rows: usize, dim: usize) -> f64 {
    rows as f64 * dim as f64 * ELEM_BYTES
}

/// Bytes of writing `n` indices.
pub(crate) fn write_indices(n: usize) -> f64 {
    n as f64 * INDEX_BYTES
}

/// Shorthand constructor.
pub(crate) fn cost(flops: f64, bytes: f64) -> EstimationCost {
    EstimationCost { flops, bytes }
}

/// Cost of computing every attended score exactly, what an oracle needs:
/// the `Q K^T` GEMM over `pairs` pairs (2 d FLOPs each), a softmax over them,
/// reading Q and K once, per head; plus `indices` index writes.
pub(crate) fn exact_scores(heads: usize, seq: usize, dim: usize, pairs: u64, indices: usize) -> EstimationCost {
    let pairs = pairs as f64;
    cost(
        pairs * (2.0 * dim as f64 + SOFTMAX_FLOPS),
        heads as f64 * 2.0 * read_rows(seq, dim) + write_indices(indices),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions() {
        assert_eq!(gemm(64, 1000, 128), 2.0 * 64.0 * 1000.0 * 128.0);
        assert_eq!(sort(1), 0.0);
        assert_eq!(sort(8), 24.0);
        assert_eq!(read_rows(10, 4), 80.0);
        let c = exact_scores(1, 4, 2, 10, 3);
        assert_eq!(c.flops, 10.0 * 9.0);
        assert_eq!(c.bytes, 2.0 * 16.0 + 12.0);
    }
}
