//! NumPy `.npy` files (format versions 1, 2 and 3), read and written without NumPy.
//!
//! A file is the magic `\x93NUMPY`, a version, a header length, a Python dict
//! literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded
//! so the data starts on a 64-byte boundary, then the raw elements.
//!
//! Element types: `f4`, `f2` and `f8` in either byte order; `V2` (what NumPy
//! writes for `ml_dtypes.bfloat16`, which it has no name for) is read as bf16,
//! and bf16 is written as `<V2` (load it in NumPy with `.view(ml_dtypes.bfloat16)`).
//! Fortran-ordered arrays are reordered to C order on load.

use super::dtype::{decode, encode, Endian, FileDtype};
use crate::error::{Result, WorkloadError};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A tensor read from a file, converted to f32, row-major (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The element type it was stored in.
    pub dtype: FileDtype,
    /// Elements in C order.
    pub data: Vec<f32>,
}

fn bad(path: &str, message: impl Into<String>) -> WorkloadError {
    WorkloadError::Io {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Parses the bytes of a `.npy` file; `path` names the file in errors.
pub fn parse_npy(path: &str, bytes: &[u8]) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(path, "not a .npy file (it does not start with \\x93NUMPY)"));
    }
    let major = bytes[6];
    let (header_len, header_start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => {
            return Err(bad(
                path,
                format!(".npy format version {major} is not supported (1, 2 or 3 expected)"),
            ))
        }
    };
    let data_start = header_start + header_len;
    let header = bytes.get(header_start..data_start).ok_or_else(|| {
        bad(
            path,
            format!("header of {header_len} bytes runs past the end of the file"),
        )
    })?;
    let header = std::str::from_utf8(header).map_err(|_| bad(path, "header is not valid text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| bad(path, format!("header has no 'descr': {header}")))?;
    let (dtype, endian) = parse_descr(descr.trim_matches(|c| c == '\'' || c == '"')).ok_or_else(|| {
        bad(
            path,
            format!(
                "element type {descr} is not supported; expected f32 ('<f4'), f16 ('<f2'), bf16 ('<V2') or f64 ('<f8')"
            ),
        )
    })?;
    let fortran = match dict_value(header, "fortran_order").map(str::trim) {
        Some("True") => true,
        Some("False") | None => false,
        Some(other) => return Err(bad(path, format!("'fortran_order' is {other}, expected True or False"))),
    };
    let shape_text =
        dict_value(header, "shape").ok_or_else(|| bad(path, format!("header has no 'shape': {header}")))?;
    let shape = parse_shape(shape_text).ok_or_else(|| bad(path, format!("cannot read the shape {shape_text}")))?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let need = count
        .and_then(|n| n.checked_mul(dtype.size()))
        .ok_or_else(|| bad(path, format!("shape {shape:?} is too large")))?;
    let body = &bytes[data_start.min(bytes.len())..];
    if body.len() < need {
        return Err(bad(
            path,
            format!(
                "shape {shape:?} of {dtype} needs {need} bytes of data but the file holds {}",
                body.len()
            ),
        ));
    }
    let mut data = decode(&body[..need], dtype, endian);
    if fortran && shape.len() > 1 {
        data = fortran_to_c(&data, &shape);
    }
    Ok(Array { shape, dtype, data })
}

/// Reads a `.npy` file.
pub fn read_npy(path: &std::path::Path) -> Result<Array> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| bad(&shown, format!("cannot read: {e}")))?;
    parse_npy(&shown, &bytes)
}

/// The bytes of a version-1 `.npy` file holding `values` (C order) with `shape`, stored as `dtype`.
pub fn npy_bytes(shape: &[usize], values: &[f32], dtype: FileDtype) -> Vec<u8> {
    let descr = match dtype {
        FileDtype::F32 => "<f4",
        FileDtype::F16 => "<f2",
        FileDtype::BF16 => "<V2",
        FileDtype::F64 => "<f8",
    };
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces and a newline so that magic + 4 bytes + header is a multiple of 64.
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * dtype.size());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&encode(values, dtype));
    out
}

/// The text after `'key':` up to the next top-level comma (tuples kept whole).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=i]);
                }
            }
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn parse_descr(d: &str) -> Option<(FileDtype, Endian)> {
    let (endian, code) = match d.split_at_checked(1)? {
        ("<" | "=" | "|", c) => (Endian::Little, c),
        (">", c) => (Endian::Big, c),
        _ => (Endian::Little, d),
    };
    let dtype = match code {
        "f4" => FileDtype::F32,
        "f2" => FileDtype::F16,
        "f8" => FileDtype::F64,
        "V2" => FileDtype::BF16,
        _ => return None,
    };
    Some((dtype, endian))
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().ok())
        .collect()
}

/// Reorders column-major data of `shape` into row-major order.
fn fortran_to_c(data: &[f32], shape: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0f32; data.len()];
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    for slot in out.iter_mut() {
        // Column-major offset of the multi-index idx.
        let mut f_pos = 0usize;
        for d in (0..rank).rev() {
            f_pos = f_pos * shape[d] + idx[d];
        }
        *slot = data[f_pos];
        // Advance idx in C order.
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_it_reads_for_every_dtype() {
        let values: Vec<f32> = (0..24).map(|x| x as f32 * 0.5 - 3.0).collect();
        for dtype in [FileDtype::F32, FileDtype::F16, FileDtype::BF16] {
            let bytes = npy_bytes(&[2, 3, 4], &values, dtype);
            assert_eq!(
                (bytes.len() - values.len() * dtype.size()) % 64,
                0,
                "data must start 64-aligned"
            );
            let a = parse_npy("x.npy", &bytes).unwrap();
            assert_eq!((a.shape.as_slice(), a.dtype), (&[2usize, 3, 4][..], dtype));
            assert_eq!(a.data, values);
        }
    }

    /// Bytes exactly as NumPy 2.4 writes `np.arange(6, dtype='<f4').reshape(2, 3)`.
    #[test]
    fn reads_a_numpy_written_header() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(std::iter::repeat_n(b' ', 0x76 - header.len() - 1));
        bytes.push(b'\n');
        for x in 0..6 {
            bytes.extend_from_slice(&(x as f32).to_le_bytes());
        }
        let a = parse_npy("np.npy", &bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn fortran_order_is_transposed() {
        // A 2x3 matrix [[0,1,2],[3,4,5]] stored column-major: 0,3,1,4,2,5.
        let header = "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }\n";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        for x in [0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0] {
            bytes.extend_from_slice(&x.to_be_bytes());
        }
        let a = parse_npy("f.npy", &bytes).unwrap();
        assert_eq!(a.data, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(a.dtype, FileDtype::F64);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = parse_npy("a.npy", b"PK\x03\x04 not numpy").unwrap_err().to_string();
        assert!(e.contains("a.npy") && e.contains("not a .npy file"), "{e}");
        let mut ints = npy_bytes(&[2], &[1.0, 2.0], FileDtype::F32);
        let at = ints.windows(3).position(|w| w == b"<f4").unwrap();
        ints[at + 1] = b'i';
        let e = parse_npy("i.npy", &ints).unwrap_err().to_string();
        assert!(e.contains("'<i4'") && e.contains("f32 ('<f4')"), "{e}");
        let mut short = npy_bytes(&[4], &[1.0; 4], FileDtype::F32);
        short.truncate(short.len() - 4);
        let e = parse_npy("s.npy", &short).unwrap_err().to_string();
        assert!(e.contains("needs 16 bytes") && e.contains("holds 12"), "{e}");
    }

    #[test]
    fn one_dimensional_shapes_keep_the_trailing_comma() {
        let bytes = npy_bytes(&[3], &[1.0, 2.0, 3.0], FileDtype::F32);
        assert!(String::from_utf8_lossy(&bytes).contains("'shape': (3,)"));
        assert_eq!(parse_npy("v.npy", &bytes).unwrap().shape, vec![3]);
    }
}
