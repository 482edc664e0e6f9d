//! Q, K and V in one `.safetensors` file (Hugging Face's format: an 8-byte
//! header length, a JSON header of names, dtypes, shapes and offsets, then the data).
//!
//! Tensor names looked for, in order: `q`, `Q`, `query` (and the same for K and V).
//! sparselab writes `q`, `k`, `v` as `[heads, seq, dim]` plus metadata
//! (`name`, `seed`, `layout`, `producer`) so a saved workload loads back with its name and seed.

use super::dtype::{decode, encode, Endian, FileDtype};
use super::npy::Array;
use crate::error::{Result, WorkloadError};
use crate::Workload;
use ::safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;

/// The names tried for each of Q, K and V.
pub const QKV_NAMES: [[&str; 3]; 3] = [["q", "Q", "query"], ["k", "K", "key"], ["v", "V", "value"]];

fn io_err(path: &str, message: impl Into<String>) -> WorkloadError {
    WorkloadError::Io {
        path: path.to_string(),
        message: message.into(),
    }
}

/// What [`parse_safetensors`] found: the three arrays, the names they had, and the file's metadata.
pub struct LoadedQkv {
    /// Q, K and V, converted to f32.
    pub arrays: [Array; 3],
    /// The names found in the file, in Q, K, V order.
    pub names: [String; 3],
    /// The header's `__metadata__` (empty when absent).
    pub metadata: HashMap<String, String>,
}

/// Reads Q, K and V from the bytes of a `.safetensors` file; `path` names it in errors.
pub fn parse_safetensors(path: &str, bytes: &[u8]) -> Result<LoadedQkv> {
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| io_err(path, format!("not a valid .safetensors file: {e}")))?;
    let metadata = SafeTensors::read_metadata(bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .unwrap_or_default();
    let mut found: Vec<(String, Array)> = Vec::with_capacity(3);
    for (role, candidates) in ["Q", "K", "V"].iter().zip(QKV_NAMES) {
        let Some((name, view)) = candidates
            .iter()
            .find_map(|n| file.tensor(n).ok().map(|view| (n.to_string(), view)))
        else {
            let mut present = file.names();
            present.sort();
            return Err(io_err(
                path,
                format!(
                    "no tensor for {role}: looked for {}; the file holds: {}. Save Q, K and V under the names q, k, v",
                    candidates.map(|c| format!("`{c}`")).join(", "),
                    if present.is_empty() {
                        "nothing".to_string()
                    } else {
                        present.join(", ")
                    }
                ),
            ));
        };
        found.push((name.clone(), to_array(path, &name, &view)?));
    }
    let mut it = found.into_iter();
    let mut next = || {
        it.next()
            .ok_or_else(|| io_err(path, "internal: fewer than three tensors"))
    };
    let (q, k, v) = (next()?, next()?, next()?);
    Ok(LoadedQkv {
        names: [q.0, k.0, v.0],
        arrays: [q.1, k.1, v.1],
        metadata,
    })
}

fn to_array(path: &str, name: &str, view: &TensorView<'_>) -> Result<Array> {
    let dtype = match view.dtype() {
        Dtype::F32 => FileDtype::F32,
        Dtype::F16 => FileDtype::F16,
        Dtype::BF16 => FileDtype::BF16,
        Dtype::F64 => FileDtype::F64,
        other => {
            return Err(io_err(
                path,
                format!("tensor `{name}` has dtype {other:?}; expected F32, F16, BF16 or F64"),
            ))
        }
    };
    Ok(Array {
        shape: view.shape().to_vec(),
        dtype,
        data: decode(view.data(), dtype, Endian::Little),
    })
}

/// The bytes of a `.safetensors` file holding the workload's Q `[heads, seq, dim]`,
/// K and V `[kv_heads, seq, dim]` as `dtype`, with its name and seed as metadata.
pub fn safetensors_bytes(w: &Workload, dtype: FileDtype) -> Result<Vec<u8>> {
    let st_dtype = match dtype {
        FileDtype::F32 => Dtype::F32,
        FileDtype::F16 => Dtype::F16,
        FileDtype::BF16 => Dtype::BF16,
        FileDtype::F64 => Dtype::F64,
    };
    let buffers = [w.q(), w.k(), w.v()].map(|t| (t.shape().to_vec(), encode(t.data(), dtype)));
    let mut views = Vec::with_capacity(3);
    for (name, (shape, bytes)) in ["q", "k", "v"].iter().zip(&buffers) {
        let view = TensorView::new(st_dtype, shape.clone(), bytes)
            .map_err(|e| io_err(name, format!("cannot describe tensor: {e}")))?;
        views.push((name.to_string(), view));
    }
    let metadata: HashMap<String, String> = [
        ("name", w.name.clone()),
        ("seed", w.seed.to_string()),
        ("layout", "[heads, seq, dim]; K and V have kv_heads heads".to_string()),
        ("producer", format!("sparselab {}", env!("CARGO_PKG_VERSION"))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    ::safetensors::tensor::serialize(views, Some(metadata)).map_err(|e| io_err("safetensors", e.to_string()))
}
