//! Sample statistics for timing comparison: the samples' parser, the median, and
//! Welch's t-test (unequal variances; Student-t CDF from statrs).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Parses a `samples_ms` field: milliseconds separated by `;` (spaces allowed), e.g. `1.02;0.99;1.01`.
/// An empty field means "no samples" and gives an empty list.
pub fn parse_samples(field: &str) -> Result<Vec<f64>, String> {
    if field.trim().is_empty() {
        return Ok(Vec::new());
    }
    field
        .split(';')
        .enumerate()
        .map(|(i, s)| {
            let v: f64 = s
                .trim()
                .parse()
                .map_err(|_| format!("sample {} `{}` is not a number", i + 1, s.trim()))?;
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(format!("sample {} is {v}, expected a finite time >= 0", i + 1))
            }
        })
        .collect()
}

/// The median of `samples` (mean of the middle two for an even count); NaN when empty.
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn mean_and_variance(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The result of Welch's t-test of two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `(mean_b - mean_a) / sqrt(var_a/n_a + var_b/n_b)`: positive when `b` is slower.
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value: the chance of a |t| this large if both means were equal.
    pub p: f64,
}

/// Welch's t-test of `a` (base) against `b` (new); `None` when either has fewer than two samples,
/// since no variance can be estimated. Two samples with zero variance give p = 1 for equal means
/// and p = 0 otherwise.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, va) = mean_and_variance(a);
    let (mb, vb) = mean_and_variance(b);
    let (sa, sb) = (va / a.len() as f64, vb / b.len() as f64);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        let p = if ma == mb { 1.0 } else { 0.0 };
        let t = if ma == mb {
            0.0
        } else {
            (mb - ma).signum() * f64::INFINITY
        };
        return Some(Welch {
            t,
            df: (a.len() + b.len() - 2) as f64,
            p,
        });
    }
    let t = (mb - ma) / se2.sqrt();
    let df = se2 * se2 / (sa * sa / (a.len() as f64 - 1.0) + sb * sb / (b.len() as f64 - 1.0));
    let p = StudentsT::new(0.0, 1.0, df)
        .map(|dist| 2.0 * dist.sf(t.abs()))
        .unwrap_or(f64::NAN);
    Some(Welch {
        t,
        df,
        p: p.clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_and_refuses_bad_ones() {
        assert_eq!(parse_samples("1.5; 2;0.25").unwrap(), [1.5, 2.0, 0.25]);
        assert!(parse_samples("").unwrap().is_empty());
        assert!(parse_samples("1;x").unwrap_err().contains("sample 2 `x`"));
        assert!(parse_samples("1;-2").unwrap_err().contains("-2"));
        assert!(parse_samples("1;NaN").is_err());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn welch_matches_a_hand_computed_case() {
        // a: mean 2, var 1 (n 3); b: mean 5, var 1 (n 3) -> t = 3 / sqrt(2/3) = 3.674, df = 4.
        let w = welch_t_test(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((w.t - 3.674_234_614).abs() < 1e-6, "{w:?}");
        assert!((w.df - 4.0).abs() < 1e-9, "{w:?}");
        // Two-sided p of t=3.674 with 4 degrees of freedom (tables: 0.0213).
        assert!((w.p - 0.0213).abs() < 5e-4, "{w:?}");
        let same = welch_t_test(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap();
        assert!((same.p - 1.0).abs() < 1e-12 && same.t == 0.0);
    }

    #[test]
    fn degenerate_samples() {
        assert!(welch_t_test(&[1.0], &[1.0, 2.0]).is_none());
        assert_eq!(welch_t_test(&[1.0, 1.0], &[1.0, 1.0]).unwrap().p, 1.0);
        let w = welch_t_test(&[1.0, 1.0], &[2.0, 2.0]).unwrap();
        assert_eq!(w.p, 0.0);
        assert!(w.t > 0.0);
    }
}
