//! [`ElemType`]: the 16-bit floating-point type of the kernels' Q, K, V and output.
//!
//! Every kernel source compiles for either type (bf16, or fp16 with `-DSL_F16`; see
//! `kernels/cuda/attention_common.cuh`); products and sums are fp32 in both. On the
//! host, tensors are f32 and cross to the device as 16-bit words (`Vec<u16>`),
//! rounded to nearest even.

use crate::error::{KernelError, Result};
use half::{bf16, f16};
use sparselab_workloads::io::FileDtype;

/// The element type of a GPU attention run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ElemType {
    /// bfloat16: f32's exponent range, 8 significant bits.
    #[default]
    Bf16,
    /// IEEE half precision: 11 significant bits, finite values up to 65504.
    F16,
}

impl ElemType {
    /// Both types, bf16 first.
    pub const ALL: [Self; 2] = [Self::Bf16, Self::F16];
    /// What [`Self::parse`] accepts, for messages.
    pub const LABELS: &'static str = "bf16 or fp16";

    /// Short name used on the command line and in CSV rows: `bf16` or `fp16`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bf16 => "bf16",
            Self::F16 => "fp16",
        }
    }

    /// Parses the 16-bit spellings a tensor file's type accepts ([`FileDtype::parse_save`]):
    /// `bf16` / `bfloat16` or `fp16` / `f16` / `half` / `float16` (any case, spaces trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        match FileDtype::parse_save(s.trim())? {
            FileDtype::BF16 => Some(Self::Bf16),
            FileDtype::F16 => Some(Self::F16),
            FileDtype::F32 | FileDtype::F64 => None,
        }
    }

    /// The NVRTC option that selects this type in the kernel sources (none for bf16).
    pub fn define(self) -> Option<&'static str> {
        match self {
            Self::Bf16 => None,
            Self::F16 => Some("-DSL_F16"),
        }
    }

    /// The largest finite magnitude of the type.
    pub fn max_finite(self) -> f32 {
        match self {
            Self::Bf16 => bf16::MAX.to_f32(),
            Self::F16 => f16::MAX.to_f32(),
        }
    }

    /// A quiet NaN's bit pattern (to poison outputs before a test run).
    pub fn nan_bits(self) -> u16 {
        match self {
            Self::Bf16 => bf16::NAN.to_bits(),
            Self::F16 => f16::NAN.to_bits(),
        }
    }

    /// One f32 to the type's bit pattern, rounded to nearest even (no range check).
    pub fn bits_of(self, x: f32) -> u16 {
        match self {
            Self::Bf16 => bf16::from_f32(x).to_bits(),
            Self::F16 => f16::from_f32(x).to_bits(),
        }
    }

    /// The f32 value of a bit pattern of the type (exact).
    pub fn to_f32(self, bits: u16) -> f32 {
        match self {
            Self::Bf16 => bf16::from_bits(bits).to_f32(),
            Self::F16 => f16::from_bits(bits).to_f32(),
        }
    }

    /// `x` as bit patterns of the type. A value that is not finite, or that rounds past
    /// the type's range (fp16: |x| > 65504), is an error naming `tensor` and the index:
    /// the kernel would turn it into inf or NaN outputs instead of a number.
    pub fn to_bits(self, tensor: &str, x: &[f32]) -> Result<Vec<u16>> {
        let max = self.max_finite();
        let mut out = Vec::with_capacity(x.len());
        for (i, &v) in x.iter().enumerate() {
            let bits = self.bits_of(v);
            if !self.to_f32(bits).is_finite() {
                return Err(KernelError::Unsupported {
                    param: "input value",
                    value: format!("{tensor}[{i}] = {v}"),
                    expected: format!("a finite value within +-{max} ({})", self.name()),
                });
            }
            out.push(bits);
        }
        Ok(out)
    }
}

impl std::fmt::Display for ElemType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in ElemType::ALL {
            assert_eq!(ElemType::parse(e.name()), Some(e));
        }
        assert_eq!(ElemType::parse("Half"), Some(ElemType::F16));
        assert_eq!(ElemType::parse("f32"), None);
    }

    #[test]
    fn conversion_rounds_and_round_trips() {
        // 1 + 2^-9 is exact in fp16 (10 fraction bits), rounds to 1 in bf16 (7).
        let x = 1.0 + 2f32.powi(-9);
        assert_eq!(ElemType::F16.to_f32(ElemType::F16.bits_of(x)), x);
        assert_eq!(ElemType::Bf16.to_f32(ElemType::Bf16.bits_of(x)), 1.0);
        for e in ElemType::ALL {
            assert!(e.to_f32(e.nan_bits()).is_nan());
            let bits = e.to_bits("q", &[-2.5, 0.75]).unwrap();
            assert_eq!(bits.iter().map(|&b| e.to_f32(b)).collect::<Vec<_>>(), vec![-2.5, 0.75]);
        }
    }

    #[test]
    fn out_of_range_and_non_finite_inputs_are_errors() {
        let e = ElemType::F16.to_bits("k", &[1.0, 70000.0]).unwrap_err().to_string();
        assert!(
            e.contains("k[1] = 70000") && e.contains("65504") && e.contains("fp16"),
            "{e}"
        );
        // bf16 holds 70000 (rounded); NaN is an error for both.
        assert!(ElemType::Bf16.to_bits("k", &[70000.0]).is_ok());
        for t in ElemType::ALL {
            let e = t.to_bits("v", &[f32::NAN]).unwrap_err().to_string();
            assert!(e.contains("v[0] = NaN"), "{e}");
        }
    }
}
