//! The two GEMM shapes attention needs, over f32 or f64, on `matrixmultiply`.

/// A real type the reference can compute in.
pub trait Real: Copy + Send + Sync + Default + PartialOrd + 'static {
    /// From f32 input.
    fn from_f32(x: f32) -> Self;
    /// To f64 for output and statistics.
    fn to_f64(self) -> f64;
    /// Negative infinity.
    const NEG_INF: Self;
    /// `exp(self)`.
    fn exp(self) -> Self;
    /// From f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// `self - other`.
    fn sub(self, other: Self) -> Self;
    /// `self * other`.
    fn mul(self, other: Self) -> Self;
    /// `C[m, n] = A[m, k] * B[n, k]^T` (B row-major `[n, k]`), overwriting C.
    fn gemm_abt(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
    /// `C[m, n] += A[m, k] * B[k, n]` (all row-major).
    fn gemm_acc(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
}

macro_rules! real_impl {
    ($t:ty, $gemm:path) => {
        impl Real for $t {
            fn from_f32(x: f32) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            const NEG_INF: Self = <$t>::NEG_INFINITY;
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn sub(self, other: Self) -> Self {
                self - other
            }
            fn mul(self, other: Self) -> Self {
                self * other
            }
            fn gemm_abt(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]) {
                assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
                // SAFETY: the asserts above bound every index the strides reach:
                // A is m x k row-major, B^T is read from B (n x k) with strides
                // (1, k), C is m x n row-major; the slices do not alias.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        1,
                        k as isize,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            }
            fn gemm_acc(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]) {
                assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
                // SAFETY: as above; A m x k, B k x n and C m x n are row-major and disjoint.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        n as isize,
                        1,
                        1.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            }
        }
    };
}

real_impl!(f32, matrixmultiply::sgemm);
real_impl!(f64, matrixmultiply::dgemm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abt_and_acc_match_naive() {
        let (m, k, n) = (3, 5, 4);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..n * k).map(|i| (i as f64).sin()).collect();
        let mut c = vec![0.0; m * n];
        f64::gemm_abt(m, k, n, &a, &b, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|d| a[i * k + d] * b[j * k + d]).sum();
                assert!((c[i * n + j] - want).abs() < 1e-12);
            }
        }
        let bt: Vec<f64> = (0..k * n).map(|i| i as f64).collect();
        let mut acc = vec![1.0; m * n];
        f64::gemm_acc(m, k, n, &a, &bt, &mut acc);
        let want: f64 = 1.0 + (0..k).map(|d| a[d] * bt[d * n]).sum::<f64>();
        assert!((acc[0] - want).abs() < 1e-12);
    }
}
