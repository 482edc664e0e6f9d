//! Estimation building blocks shared by the methods: the score GEMM, a
//! numerically safe softmax, the last-queries attention that MInference and
//! FlexPrefill estimate from, and mean pooling of rows into blocks.

use crate::reference::Real;
use sparselab_workloads::Workload;

/// `C[m, n] = A[m, k] B[n, k]^T` in f32 (row-major, B given as rows).
pub(crate) fn gemm_abt(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    f32::gemm_abt(m, k, n, a, b, c);
}

/// `C[m, n] = A[m, k] B[k, n]` in f32, where row `r` of B starts at `r * ldb`
/// (so B may be the first `n` columns of a wider row-major matrix, such as
/// `K^T` restricted to the causal keys). With B laid out this way
/// `matrixmultiply` runs about 1.5x faster than on `K` rows for 64-row blocks.
pub(crate) fn gemm_ab(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], ldb: usize, c: &mut [f32]) {
    assert!(n <= ldb && a.len() >= m * k && c.len() >= m * n);
    assert!(k == 0 || b.len() >= (k - 1) * ldb + n);
    // SAFETY: the asserts bound every index the strides reach: A is m x k
    // row-major, B is k rows of n used entries `ldb` apart, C is m x n
    // row-major; C is a unique borrow, so it aliases neither input.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            ldb as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

/// Transpose of a row-major `[rows, cols]` matrix: `[cols, rows]`.
pub(crate) fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; rows * cols];
    for (r, row) in data.chunks(cols).enumerate().take(rows) {
        for (c, &x) in row.iter().enumerate() {
            out[c * rows + r] = x;
        }
    }
    out
}

/// Softmax of `row` in place, in f32 as the GPU estimators compute it.
/// Entries equal to -inf become 0; a row of only -inf becomes all zeros.
pub(crate) fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        row.iter_mut().for_each(|x| *x = 0.0);
        return;
    }
    let mut sum = 0.0f64;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x as f64;
    }
    let inv = (1.0 / sum) as f32;
    row.iter_mut().for_each(|x| *x *= inv);
}

/// Attention probabilities of the last `last` queries of head `h` over all
/// keys, `[last, seq]` row-major: `softmax(Q[-last:] K^T / sqrt(d))` in f32
/// with the causal mask (row `i` is query `seq - last + i` and sees keys up to
/// itself, so only the last `last` key columns are partly masked).
pub(crate) fn last_queries_attention(w: &Workload, h: usize, last: usize) -> Vec<f32> {
    let (seq, dim) = (w.seq_len(), w.head_dim());
    let first = seq - last;
    let q = &w.q().head(h)[first * dim..seq * dim];
    let k = w.k().head(w.kv_head_of(h));
    let mut p = vec![0.0f32; last * seq];
    gemm_abt(last, dim, seq, q, k, &mut p);
    let scale = 1.0 / (dim as f32).sqrt();
    for (i, row) in p.chunks_mut(seq).enumerate() {
        let query = first + i;
        for (key, s) in row.iter_mut().enumerate() {
            *s = if key <= query { *s * scale } else { f32::NEG_INFINITY };
        }
        softmax_in_place(row);
    }
    p
}

/// Mean of every `block` consecutive rows of `data` (`[rows, dim]`), the last
/// block averaging only the rows it has: `[ceil(rows / block), dim]`.
pub(crate) fn mean_pool(data: &[f32], rows: usize, dim: usize, block: usize) -> Vec<f32> {
    let nb = rows.div_ceil(block);
    let mut out = vec![0.0f32; nb * dim];
    for (b, pooled) in out.chunks_mut(dim).enumerate() {
        let (r0, r1) = (b * block, ((b + 1) * block).min(rows));
        for row in data[r0 * dim..r1 * dim].chunks(dim) {
            for (o, x) in pooled.iter_mut().zip(row) {
                *o += x;
            }
        }
        let inv = 1.0 / (r1 - r0) as f32;
        pooled.iter_mut().for_each(|x| *x *= inv);
    }
    out
}

/// Dot product accumulated in f64 (inputs are f32, so every product is exact).
pub(crate) fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_workloads::HeadTensor;

    #[test]
    fn softmax_handles_masked_entries() {
        let mut r = vec![0.0, f32::NEG_INFINITY, 0.0];
        softmax_in_place(&mut r);
        assert_eq!(r, vec![0.5, 0.0, 0.5]);
        let mut r = vec![f32::NEG_INFINITY; 2];
        softmax_in_place(&mut r);
        assert_eq!(r, vec![0.0, 0.0]);
    }

    #[test]
    fn strided_gemm_matches_the_transposed_one() {
        let (m, k, n, ld) = (3, 4, 5, 7);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.3).cos()).collect();
        let b_rows: Vec<f32> = (0..ld * k).map(|i| (i as f32 * 0.7).sin()).collect(); // [ld, k]
        let bt = transpose(&b_rows, ld, k); // [k, ld]
        let (mut c1, mut c2) = (vec![0.0; m * n], vec![0.0; m * n]);
        gemm_ab(m, k, n, &a, &bt, ld, &mut c1);
        gemm_abt(m, k, n, &a, &b_rows, &mut c2);
        for (x, y) in c1.iter().zip(&c2) {
            assert!((x - y).abs() < 1e-5);
        }
    }

    #[test]
    fn pooling_averages_the_ragged_tail() {
        let data: Vec<f32> = (0..5).map(|x| x as f32).collect();
        assert_eq!(mean_pool(&data, 5, 1, 2), vec![0.5, 2.5, 4.0]);
    }

    #[test]
    fn last_queries_are_causal_and_normalised() {
        let (seq, dim) = (6, 2);
        let data: Vec<f32> = (0..seq * dim).map(|i| (i as f32 * 0.37).sin()).collect();
        let t = || HeadTensor::new("t", 1, seq, dim, data.clone()).unwrap();
        let w = Workload::new("t", 0, t(), t(), t()).unwrap();
        let p = last_queries_attention(&w, 0, 3);
        for (i, row) in p.chunks(seq).enumerate() {
            let query = seq - 3 + i;
            assert!(row[query + 1..].iter().all(|&x| x == 0.0));
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}
