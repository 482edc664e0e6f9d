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
    /// Largest element (`NEG_INF` for an empty or all-masked slice).
    fn max_of(xs: &[Self]) -> Self;
    /// Sum in f64.
    fn sum_of(xs: &[Self]) -> f64;
    /// `x = exp(x - shift)` in place; `-inf` entries become 0.
    fn exp_shifted(xs: &mut [Self], shift: Self);
    /// `C[m, n] = A[m, k] * B[n, k]^T` (B row-major `[n, k]`), overwriting C.
    fn gemm_abt(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
    /// `C[m, n] += A[m, k] * B[k, n]` (all row-major).
    fn gemm_acc(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
}

macro_rules! real_impl {
    ($t:ty, $gemm:path, $exp:path) => {
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
            fn max_of(xs: &[Self]) -> Self {
                xs.iter()
                    .fold(<$t>::NEG_INFINITY, |m, &x| if x > m { x } else { m })
            }
            fn sum_of(xs: &[Self]) -> f64 {
                // Four partial sums let the compiler vectorize; each is exact enough in $t
                // for at most a few hundred values in (0, 1].
                let mut parts = [0.0 as $t; 4];
                let mut chunks = xs.chunks_exact(4);
                for c in &mut chunks {
                    for j in 0..4 {
                        parts[j] += c[j];
                    }
                }
                let tail: $t = chunks.remainder().iter().sum();
                parts.iter().map(|&p| p as f64).sum::<f64>() + tail as f64
            }
            fn exp_shifted(xs: &mut [Self], shift: Self) {
                for x in xs.iter_mut() {
                    *x = $exp(*x - shift);
                }
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

real_impl!(f32, matrixmultiply::sgemm, exp_f32);
real_impl!(f64, matrixmultiply::dgemm, f64::exp);

/// `exp(x)` for f32 without a library call or a branch, so loops over it
/// vectorize: Cody-Waite range reduction `x = n ln2 + r`, a degree-6 polynomial
/// for `exp(r)` (the Cephes `expf` coefficients), and `2^n` built in the exponent
/// bits. Relative error below 3e-7 on [-87, 88]; inputs below -87.3 (including
/// -inf) give 0, above 88.7 saturate.
#[inline]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let underflow = x < -87.3;
    let xc = x.clamp(-87.3, 88.7);
    let n = (xc * LOG2E + ROUND) - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let r2 = r * r;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let y = p * r2 + r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if underflow {
        0.0
    } else {
        y * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate_and_zero_below_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            worst = worst.max(((exp_f32(x) as f64) - want).abs() / want);
            x += 0.013;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-100.0), 0.0);
        assert_eq!(exp_f32(0.0), 1.0);
        let mut xs = [0.5f32, f32::NEG_INFINITY, -1.0];
        f32::exp_shifted(&mut xs, 0.5);
        assert_eq!(xs[1], 0.0);
        assert!((xs[0] - 1.0).abs() < 1e-7 && (xs[2] as f64 - (-1.5f64).exp()).abs() < 1e-7);
    }

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
