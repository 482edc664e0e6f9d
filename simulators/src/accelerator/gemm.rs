//! GEMM shapes and N:M sparsity, in SCALE-Sim's GEMM convention.
//!
//! A GEMM computes `C[m, n] = A[m, k] · B[k, n]`: `A` is the streamed operand (SCALE-Sim's
//! ifmap, im2col rows for a convolution), `B` the weight-like operand (SCALE-Sim's filter), `k`
//! the reduction. N:M sparsity applies to `B` along `k`: of every `m` consecutive reduction
//! indices of a column of `B`, `n` are kept, with `ceil(log2 m)` bits of index metadata each.

use crate::error::{Result, SimulatorError};
use std::fmt;

/// An N:M sparsity ratio: `n` kept of every `m` (1 <= n <= m <= 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NmRatio {
    /// Kept elements per group.
    pub n: u32,
    /// Group size.
    pub m: u32,
}

impl NmRatio {
    /// Checks `1 <= n <= m <= 64`.
    pub fn new(n: u32, m: u32) -> Result<Self> {
        let text = format!("{n}:{m}");
        if m == 0 || m > 64 {
            return Err(SimulatorError::BadRatio {
                text,
                expected: "M must be between 1 and 64".into(),
            });
        }
        if n == 0 || n > m {
            return Err(SimulatorError::BadRatio {
                text,
                expected: format!("N must be between 1 and M = {m} (N > M keeps more than the group holds)"),
            });
        }
        Ok(Self { n, m })
    }

    /// Parses `"2:8"`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || SimulatorError::BadRatio {
            text: text.to_string(),
            expected: "write it as N:M with integers, e.g. 2:8".into(),
        };
        let (n, m) = text.trim().split_once(':').ok_or_else(bad)?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        let m: u32 = m.trim().parse().map_err(|_| bad())?;
        Self::new(n, m)
    }

    /// Kept fraction `n / m`.
    pub fn density(self) -> f64 {
        f64::from(self.n) / f64::from(self.m)
    }

    /// Index bits stored per kept element: `ceil(log2 m)` (0 for m = 1).
    pub fn metadata_bits(self) -> u32 {
        if self.m <= 1 {
            0
        } else {
            u32::BITS - (self.m - 1).leading_zeros()
        }
    }

    /// Kept elements along a reduction of length `k`: `ceil(k / m) * n`, capped at `k`
    /// (a short last group keeps at most what it holds).
    pub fn kept(self, k: u64) -> u64 {
        let (n, m) = (u64::from(self.n), u64::from(self.m));
        let full = k / m * n;
        full + (k % m).min(n)
    }
}

impl fmt::Display for NmRatio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.n, self.m)
    }
}

/// How many unique DRAM elements one logical element of an operand stands for. A convolution's
/// im2col matrix repeats each input pixel up to `kh * kw` times, but DRAM holds (and the
/// buffers load) the input tensor once: its footprint is `input elements / (m * k)`, at most 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    /// Unique elements of `A` per logical element, in (0, 1].
    pub a: f64,
    /// Unique elements of `C` per logical element, in (0, 1] (backward-data writes an im2col
    /// gradient that folds back onto the input tensor).
    pub c: f64,
}

impl Footprint {
    /// Every element is distinct (plain matrices).
    pub const DENSE: Footprint = Footprint { a: 1.0, c: 1.0 };
}

/// Precision of the final output of a GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputPrecision {
    /// Written back at activation width (`array.input_bits`).
    Activation,
    /// Written back at accumulator width (weight gradients kept in fp32).
    Accumulator,
}

/// One GEMM as the accelerator runs it, repeated `count` times (e.g. once per attention head).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gemm {
    /// Rows of `A` and `C`.
    pub m: u64,
    /// Reduction length.
    pub k: u64,
    /// Columns of `B` and `C`.
    pub n: u64,
    /// Identical independent instances run back to back.
    pub count: u64,
    /// N:M sparsity of `B` along `k`; `None` for dense.
    pub sparse_b: Option<NmRatio>,
    /// DRAM footprint of `A` and `C` relative to their logical size.
    pub footprint: Footprint,
    /// Width of `C` when written back.
    pub output: OutputPrecision,
}

impl Gemm {
    /// A dense GEMM of plain matrices, run once, writing activations.
    pub fn dense(m: u64, k: u64, n: u64) -> Self {
        Self {
            m,
            k,
            n,
            count: 1,
            sparse_b: None,
            footprint: Footprint::DENSE,
            output: OutputPrecision::Activation,
        }
    }

    /// The same GEMM with `B` N:M sparse along `k` (`None` keeps it dense).
    pub fn with_sparsity(mut self, nm: Option<NmRatio>) -> Self {
        self.sparse_b = nm;
        self
    }

    /// Checks that every dimension and the repeat count are at least 1.
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("gemm.m", self.m),
            ("gemm.k", self.k),
            ("gemm.n", self.n),
            ("gemm.count", self.count),
        ] {
            if v == 0 {
                return Err(SimulatorError::bad_workload(
                    field,
                    v,
                    "every GEMM dimension must be at least 1",
                ));
            }
        }
        for (field, v) in [("footprint.a", self.footprint.a), ("footprint.c", self.footprint.c)] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(SimulatorError::bad_workload(field, v, "a footprint is in (0, 1]"));
            }
        }
        Ok(())
    }

    /// Reduction length after N:M compression of `B` over a reduction of length `k`.
    pub fn kept_k(&self, k: u64) -> u64 {
        self.sparse_b.map_or(k, |nm| nm.kept(k))
    }

    /// Multiply-accumulates the array performs per instance (`m * kept_k * n`).
    pub fn performed_macs(&self) -> u64 {
        self.m * self.kept_k(self.k) * self.n
    }

    /// Multiply-accumulates of the dense GEMM per instance (`m * k * n`).
    pub fn dense_macs(&self) -> u64 {
        self.m * self.k * self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_parse_and_reject_bad_input() {
        assert_eq!(NmRatio::parse("2:8").unwrap(), NmRatio { n: 2, m: 8 });
        assert_eq!(NmRatio::parse(" 1 : 4 ").unwrap(), NmRatio { n: 1, m: 4 });
        let e = NmRatio::parse("3:2").unwrap_err().to_string();
        assert!(e.contains("3:2") && e.contains("N > M"), "{e}");
        assert!(NmRatio::parse("0:4").is_err());
        assert!(NmRatio::parse("2-8").is_err());
        assert!(NmRatio::parse("2:0").is_err());
    }

    #[test]
    fn metadata_bits_are_ceil_log2_m() {
        let bits = |n, m| NmRatio::new(n, m).unwrap().metadata_bits();
        assert_eq!(
            (bits(2, 4), bits(2, 8), bits(1, 8), bits(1, 1), bits(3, 5)),
            (2, 3, 3, 0, 3)
        );
    }

    #[test]
    fn kept_counts_a_short_last_group() {
        let nm = NmRatio::new(2, 8).unwrap();
        assert_eq!(nm.kept(64), 16);
        assert_eq!(nm.kept(147), 18 * 2 + 2);
        assert_eq!(nm.kept(1), 1);
        assert_eq!(
            Gemm::dense(4, 64, 3).with_sparsity(Some(nm)).performed_macs(),
            4 * 16 * 3
        );
    }
}
