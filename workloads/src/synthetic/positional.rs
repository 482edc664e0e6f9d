//! Relative-position terms: rotary features whose dot product is a chosen
//! function of the offset `r = i - j`.
//!
//! Keys carry a constant 1 and, for every frequency `w_k = 2 pi k / T`
//! (`k = 1..=pairs`), the pair `[cos(w_k j), sin(w_k j)]`. A query carries a
//! constant `c_0` and `[Re z, Im z]` with `z = C_k exp(i w_k i)`, so the dot
//! product is `c_0 + sum_k Re(C_k exp(i w_k r))`: a trigonometric polynomial in
//! `r` whose coefficients the query chooses. A bump of height `A` centred on
//! offset `delta` has `c_0 = A / n` and `C_k = 2 A t_k exp(-i w_k delta) / n`
//! with a smooth taper `t_k` and `n = 1 + 2 sum(t)`: a peak of `A` at `delta`,
//! about 0 far from it, side lobes below 3% of `A` (checked in a test). The
//! period `T` is a little longer than the sequence, so no bump comes back
//! inside it. A bump's logit halves at about `T / (1.9 pairs)` tokens from its
//! centre and is gone by `T / pairs`: geometry scales with the sequence.
//! This bandwidth limit is why slashes are bands of neighbouring diagonals, not
//! single ones: a rank-`d` logit matrix cannot hold an isolated diagonal
//! without raising the logits of many others.
//!
//! Angles are reduced exactly in integers (`k * i mod T`) and the sine table is
//! computed with a Taylor polynomial, not the platform's libm, so the tensors
//! are bit-identical on every machine.

use std::f64::consts::FRAC_PI_2;

/// `sin` and `cos` of `2 pi m / period` using only IEEE-exact operations
/// (integer reduction to `[-pi/4, pi/4]`, then Taylor polynomials of degree 17/18,
/// accurate to about 1e-16).
pub(crate) fn sin_cos_turns(m: u64, period: u64) -> (f64, f64) {
    let m = m % period;
    // Quadrant q = round(4m / period); residual angle (pi/2) * (4m - q period) / period.
    let q = (8 * m + period) / (2 * period);
    let residual = (4 * m) as i64 - (q * period) as i64;
    let r = residual as f64 * (FRAC_PI_2 / period as f64);
    let r2 = r * r;
    // Horner evaluation of the Taylor series (terms up to r^17 and r^18).
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for n in (0..=8u32).rev() {
        let sin_coeff = taylor_coeff(2 * n + 1);
        let cos_coeff = taylor_coeff(2 * n);
        s = s * r2 + sin_coeff;
        c = c * r2 + cos_coeff;
    }
    let s = s * r;
    match q % 4 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// `(-1)^(n/2) / n!` for the sine (odd n) and cosine (even n) series.
fn taylor_coeff(n: u32) -> f64 {
    let mut f = 1.0f64;
    for i in 2..=n {
        f *= i as f64;
    }
    let sign = if (n / 2) % 2 == 0 { 1.0 } else { -1.0 };
    sign / f
}

/// The rotary frequency grid shared by all heads of one workload.
#[derive(Debug, Clone)]
pub(crate) struct RotaryGrid {
    /// Frequency pairs (`k = 1..=pairs`).
    pub pairs: usize,
    /// Period in tokens; `w_k = 2 pi k / period`.
    pub period: u64,
    /// `cos(2 pi m / period)` for `m in 0..period`.
    cos: Vec<f64>,
    /// `sin(2 pi m / period)` for `m in 0..period`.
    sin: Vec<f64>,
}

impl RotaryGrid {
    /// A grid of `pairs` frequencies for `seq_len` tokens; the period is
    /// `seq_len * 8 / 7` (at least 16), so the image of the local bump at
    /// `r = period` stays a seventh of the sequence beyond the last offset.
    pub fn new(seq_len: usize, pairs: usize) -> Self {
        let period = ((seq_len as u64 * 8).div_ceil(7)).max(16);
        let (sin, cos) = (0..period).map(|m| sin_cos_turns(m, period)).unzip();
        Self {
            pairs,
            period,
            cos,
            sin,
        }
    }

    /// `(cos, sin)` of `w_k * pos`.
    #[inline]
    pub fn rotation(&self, k: usize, pos: usize) -> (f64, f64) {
        let m = ((k as u64 % self.period) * (pos as u64 % self.period)) % self.period;
        (self.cos[m as usize], self.sin[m as usize])
    }

    /// `(cos, sin)` of `w_k * pos` for `k = 1..=pairs`, in order; the table index
    /// steps by `pos mod period` (no division per pair).
    pub fn rotations(&self, pos: usize) -> impl Iterator<Item = (f64, f64)> + '_ {
        let step = pos as u64 % self.period;
        let mut m = 0u64;
        (0..self.pairs).map(move |_| {
            m += step;
            if m >= self.period {
                m -= self.period;
            }
            (self.cos[m as usize], self.sin[m as usize])
        })
    }

    /// Coefficients of a sum of bumps: the constant term, and the complex `C_k`
    /// (`k = 1..=pairs`, index `k - 1`). With the constant term the positional
    /// logit is about 0 far from every bump, the level of a key that carries no
    /// position. A width factor `f` tapers over `pairs / f` frequencies, so the
    /// bump is `f` times wider than the narrowest one.
    pub fn bump_coefficients(&self, bumps: &[Bump]) -> PositionalCoefficients {
        let mut coeffs = vec![(0.0f64, 0.0f64); self.pairs];
        let mut constant = 0.0;
        for bump in bumps {
            let taper = taper(self.pairs, bump.width);
            // Taper t_0 = 1 for the constant term; the bump is normalised to peak at `height`.
            let norm = 1.0 + 2.0 * taper.iter().sum::<f64>();
            constant += bump.height / norm;
            for (k, &t) in taper.iter().enumerate() {
                let (c, s) = self.rotation(k + 1, bump.offset);
                let a = 2.0 * bump.height * t / norm;
                // a * exp(-i w delta)
                coeffs[k].0 += a * c;
                coeffs[k].1 -= a * s;
            }
        }
        PositionalCoefficients {
            constant,
            rotary: coeffs,
        }
    }

    /// The positional logit `c_0 + Re sum_k C_k exp(i w_k r)` at offset `r`.
    #[cfg(test)]
    pub fn logit_at(&self, coeffs: &PositionalCoefficients, r: usize) -> f64 {
        coeffs.constant
            + coeffs
                .rotary
                .iter()
                .enumerate()
                .map(|(k, &(re, im))| {
                    let (c, s) = self.rotation(k + 1, r);
                    re * c - im * s
                })
                .sum::<f64>()
    }
}

/// What a query carries in the positional dims (before scaling).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PositionalCoefficients {
    /// Weight of the constant dim (keys with a position carry 1 there).
    pub constant: f64,
    /// `C_k` as `(re, im)` for `k = 1..=pairs`.
    pub rotary: Vec<(f64, f64)>,
}

/// One positional bump: `height` logits at offset `offset` (`i - j`), `width`
/// times the narrowest width the grid can make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bump {
    /// Offset `i - j` of the peak, in tokens.
    pub offset: usize,
    /// Peak height above the far level (0), in logits.
    pub height: f64,
    /// Width relative to the narrowest bump (at least 1).
    pub width: f64,
}

/// Taper `t_k = (1 - (k / (n + 1))^2)^3` for `k = 1..=n` with `n = pairs / width`,
/// zero beyond: smooth in `k`, so the bump's side lobes are small.
fn taper(pairs: usize, width: f64) -> Vec<f64> {
    let n = (pairs as f64 / width.max(1.0)).max(1.0);
    (1..=pairs)
        .map(|k| {
            let x = k as f64 / (n + 1.0);
            if x >= 1.0 {
                0.0
            } else {
                let y = 1.0 - x * x;
                y * y * y
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_cos_matches_libm() {
        for period in [16u64, 97, 1170, 18725] {
            for m in (0..period).step_by((period / 13).max(1) as usize) {
                let (s, c) = sin_cos_turns(m, period);
                let angle = std::f64::consts::TAU * m as f64 / period as f64;
                assert!((s - angle.sin()).abs() < 1e-14, "sin {m}/{period}: {s}");
                assert!((c - angle.cos()).abs() < 1e-14, "cos {m}/{period}: {c}");
            }
        }
    }

    #[test]
    fn stepped_rotations_match_direct_ones() {
        let grid = RotaryGrid::new(1000, 16);
        for pos in [0, 1, 999, 1142, 5000] {
            let stepped: Vec<_> = grid.rotations(pos).collect();
            let direct: Vec<_> = (1..=16).map(|k| grid.rotation(k, pos)).collect();
            assert_eq!(stepped, direct, "pos {pos}");
        }
    }

    #[test]
    fn bump_peaks_at_its_offset_with_small_side_lobes() {
        let grid = RotaryGrid::new(4096, 39);
        let bump = Bump {
            offset: 1500,
            height: 10.0,
            width: 1.0,
        };
        let coeffs = grid.bump_coefficients(&[bump]);
        let logits: Vec<f64> = (0..4096).map(|r| grid.logit_at(&coeffs, r)).collect();
        let peak = logits[1500];
        assert!((peak - 10.0).abs() < 0.3, "peak {peak}");
        let argmax = (0..4096).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap();
        assert_eq!(argmax, 1500);
        // Away from the main lobe the logit stays within 3% of the height.
        let lobe = 2 * grid.period as usize / 39;
        for (r, &l) in logits.iter().enumerate() {
            if r.abs_diff(1500) > lobe {
                assert!(l.abs() < 0.3, "side lobe {l} at r = {r}");
            }
        }
    }
}
