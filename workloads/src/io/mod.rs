//! Users' own Q, K and V: loading them from files, and saving any workload in
//! the same formats so that other tools can run the same inputs.
//!
//! | path given | what is read or written |
//! |---|---|
//! | `x.safetensors` | one file with tensors `q`, `k`, `v` (also `Q`/`K`/`V`, `query`/`key`/`value` on load) |
//! | a folder `dir` | `dir/q.npy`, `dir/k.npy`, `dir/v.npy` |
//! | a prefix `runs/l3_` (load only) | `runs/l3_q.npy`, `runs/l3_k.npy`, `runs/l3_v.npy` |
//!
//! Element types: f32, f16 and bf16 (and f64 on load), converted to f32 on the host.
//! Layouts: `[heads, seq, dim]` or `[batch, heads, seq, dim]` (the batch is folded
//! into heads, see [`layout`]); K and V may have fewer heads than Q (grouped-query
//! attention). Saved files are always `[heads, seq, dim]`. Every shape or dtype
//! problem is an error naming the tensor and the shape that was expected.

pub mod dtype;
pub mod layout;
pub mod npy;
pub mod safetensors_file;

pub use dtype::FileDtype;
pub use npy::Array;

use crate::error::{Result, WorkloadError};
use crate::Workload;
use std::path::{Path, PathBuf};

/// Where Q, K and V live, as resolved from a user's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QkvSource {
    /// One `.safetensors` file.
    Safetensors(PathBuf),
    /// Three `.npy` files, in Q, K, V order.
    Npy([PathBuf; 3]),
}

/// Resolves `path` for loading: a `.safetensors` file, a folder holding
/// `q.npy`, `k.npy`, `v.npy`, or a prefix `P` with files `Pq.npy`, `Pk.npy`, `Pv.npy`.
pub fn resolve(path: &Path) -> Result<QkvSource> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        return Ok(QkvSource::Safetensors(path.to_path_buf()));
    }
    let npy = if path.is_dir() {
        ["q", "k", "v"].map(|n| path.join(format!("{n}.npy")))
    } else {
        let prefix = path.to_string_lossy();
        ["q", "k", "v"].map(|n| PathBuf::from(format!("{prefix}{n}.npy")))
    };
    match npy.iter().find(|p| !p.is_file()) {
        None => Ok(QkvSource::Npy(npy)),
        Some(missing) => Err(WorkloadError::Io {
            path: path.display().to_string(),
            message: format!(
                "cannot find {}; give a .safetensors file with tensors q, k, v, a folder holding q.npy, k.npy and v.npy, or a prefix P such that Pq.npy, Pk.npy and Pv.npy exist",
                missing.display()
            ),
        }),
    }
}

/// Loads Q, K and V from `path` (see the module doc for the conventions) as a checked workload.
///
/// The workload is named after the file (or, for files sparselab saved, keeps the
/// saved name and seed), so result rows say where their inputs came from.
pub fn load_qkv(path: impl AsRef<Path>) -> Result<Workload> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    match resolve(path)? {
        QkvSource::Safetensors(file) => {
            let bytes = std::fs::read(&file).map_err(|e| WorkloadError::Io {
                path: shown.clone(),
                message: format!("cannot read: {e}"),
            })?;
            let loaded = safetensors_file::parse_safetensors(&shown, &bytes)?;
            let label = loaded
                .metadata
                .get("name")
                .cloned()
                .unwrap_or_else(|| format!("file:{}", file_label(path)));
            let seed = loaded.metadata.get("seed").and_then(|s| s.parse().ok()).unwrap_or(0);
            let [qn, kn, vn] = &loaded.names;
            layout::workload_from_arrays(label, seed, &shown, [qn, kn, vn], loaded.arrays)
        }
        QkvSource::Npy(files) => {
            let [q, k, v] = [&files[0], &files[1], &files[2]].map(|f| npy::read_npy(f));
            layout::workload_from_arrays(
                format!("file:{}", file_label(path)),
                0,
                &shown,
                ["q.npy", "k.npy", "v.npy"],
                [q?, k?, v?],
            )
        }
    }
}

/// Saves the workload's Q, K and V as `dtype`: to one `.safetensors` file when
/// `path` ends in `.safetensors`, otherwise to `q.npy`, `k.npy`, `v.npy` in the
/// folder `path` (created if needed). Each file is written to a temporary name and
/// renamed, so a failed save leaves no partial file. Returns the files written.
pub fn save_qkv(w: &Workload, path: impl AsRef<Path>, dtype: FileDtype) -> Result<Vec<PathBuf>> {
    let path = path.as_ref();
    if dtype == FileDtype::F64 {
        return Err(WorkloadError::invalid(
            "dtype",
            dtype,
            "saving supports f32, f16 and bf16",
        ));
    }
    if path.extension().is_some_and(|e| e == "safetensors") {
        write_atomic(path, &safetensors_file::safetensors_bytes(w, dtype)?)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut written = Vec::with_capacity(3);
    for (name, t) in [("q", w.q()), ("k", w.k()), ("v", w.v())] {
        let file = path.join(format!("{name}.npy"));
        write_atomic(&file, &npy::npy_bytes(&t.shape(), t.data(), dtype))?;
        written.push(file);
    }
    Ok(written)
}

/// The file or folder name without extension, for workload labels.
fn file_label(path: &Path) -> String {
    path.file_stem()
        .or_else(|| path.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |message: String| WorkloadError::Io {
        path: path.display().to_string(),
        message,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create folder {}: {e}", dir.display())))?;
    let name = path
        .file_name()
        .ok_or_else(|| err("is not a file path".into()))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| err(format!("cannot write: {e}")));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests;
