//! Element types of tensors on disk and their conversion to and from f32.
//!
//! Workloads are f32 on the host; files may hold f32, f16 or bf16 (and f64 is
//! accepted on load). Conversion to f32 is exact for f16 and bf16; saving to a
//! 16-bit type rounds to nearest even (the `half` crate's conversion).

use half::{bf16, f16};

/// Element type of a tensor in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDtype {
    /// IEEE single precision (4 bytes).
    F32,
    /// IEEE half precision (2 bytes).
    F16,
    /// bfloat16 (2 bytes): f32's exponent with a 7-bit mantissa.
    BF16,
    /// IEEE double precision (8 bytes); read only, converted to f32.
    F64,
}

impl FileDtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            FileDtype::F32 => 4,
            FileDtype::F16 | FileDtype::BF16 => 2,
            FileDtype::F64 => 8,
        }
    }

    /// Lower-case name used on the command line and in messages (`f32`, `f16`, `bf16`, `f64`).
    pub fn name(self) -> &'static str {
        match self {
            FileDtype::F32 => "f32",
            FileDtype::F16 => "f16",
            FileDtype::BF16 => "bf16",
            FileDtype::F64 => "f64",
        }
    }

    /// Parses `f32`, `f16`/`fp16`/`half` or `bf16`/`bfloat16` (the types a file can be saved in).
    pub fn parse_save(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Some(FileDtype::F32),
            "f16" | "fp16" | "half" | "float16" => Some(FileDtype::F16),
            "bf16" | "bfloat16" => Some(FileDtype::BF16),
            _ => None,
        }
    }
}

impl std::fmt::Display for FileDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Byte order of the elements in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first (every format sparselab writes).
    Little,
    /// Most significant byte first (accepted in `.npy` files).
    Big,
}

/// Decodes `bytes` holding elements of `dtype` into f32. `bytes.len()` must be a
/// multiple of `dtype.size()` (callers check the length against the shape first).
pub fn decode(bytes: &[u8], dtype: FileDtype, endian: Endian) -> Vec<f32> {
    fn arr<const N: usize>(c: &[u8], endian: Endian) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        if endian == Endian::Big {
            a.reverse();
        }
        a
    }
    let n = dtype.size();
    let chunks = bytes.chunks_exact(n);
    match dtype {
        FileDtype::F32 => chunks.map(|c| f32::from_le_bytes(arr(c, endian))).collect(),
        FileDtype::F16 => chunks.map(|c| f16::from_le_bytes(arr(c, endian)).to_f32()).collect(),
        FileDtype::BF16 => chunks.map(|c| bf16::from_le_bytes(arr(c, endian)).to_f32()).collect(),
        FileDtype::F64 => chunks.map(|c| f64::from_le_bytes(arr(c, endian)) as f32).collect(),
    }
}

/// Encodes f32 values as little-endian `dtype` bytes (rounding to nearest for 16-bit types).
pub fn encode(values: &[f32], dtype: FileDtype) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * dtype.size());
    match dtype {
        FileDtype::F32 => values.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        FileDtype::F16 => values
            .iter()
            .for_each(|&x| out.extend_from_slice(&f16::from_f32(x).to_le_bytes())),
        FileDtype::BF16 => values
            .iter()
            .for_each(|&x| out.extend_from_slice(&bf16::from_f32(x).to_le_bytes())),
        FileDtype::F64 => values
            .iter()
            .for_each(|&x| out.extend_from_slice(&(x as f64).to_le_bytes())),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_exact_where_representable() {
        let xs = [0.0f32, 1.0, -2.5, 0.15625, 1024.0];
        for dtype in [FileDtype::F32, FileDtype::F16, FileDtype::BF16, FileDtype::F64] {
            let bytes = encode(&xs, dtype);
            assert_eq!(bytes.len(), xs.len() * dtype.size());
            assert_eq!(decode(&bytes, dtype, Endian::Little), xs, "{dtype}");
        }
    }

    #[test]
    fn sixteen_bit_types_round_to_their_precision() {
        let x = [1.0f32 + 1.0 / 512.0];
        // bf16 keeps 7 mantissa bits: 1 + 2^-9 rounds to 1; f16 keeps 10 bits and is exact.
        assert_eq!(
            decode(&encode(&x, FileDtype::BF16), FileDtype::BF16, Endian::Little),
            [1.0]
        );
        assert_eq!(decode(&encode(&x, FileDtype::F16), FileDtype::F16, Endian::Little), x);
    }

    #[test]
    fn big_endian_is_swapped() {
        let bytes = 3.5f32.to_be_bytes();
        assert_eq!(decode(&bytes, FileDtype::F32, Endian::Big), [3.5]);
    }

    #[test]
    fn names_parse() {
        assert_eq!(FileDtype::parse_save("BF16"), Some(FileDtype::BF16));
        assert_eq!(FileDtype::parse_save("half"), Some(FileDtype::F16));
        assert_eq!(FileDtype::parse_save("f64"), None);
    }
}
