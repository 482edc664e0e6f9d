//! Timings measured by `sparselab bench` (and the peers' scripts) read back from their CSVs,
//! so `reproduce` can put measured kernel speedups beside the papers' (`--measured F.csv`).

use anyhow::{Context, Result};
use serde::Deserialize;
use std::path::Path;

/// The columns `reproduce` reads from a bench or peers CSV.
#[derive(Debug, Clone, Deserialize)]
pub struct Timing {
    /// `dense`, `block-sparse`, `sdpa-flash`, `flex:block-sparse`, ...
    pub method: String,
    /// Parameters (tile, block, density target, budget).
    #[serde(default)]
    pub params: String,
    /// Tokens.
    pub seq_len: u64,
    /// `true` or `false`.
    pub causal: String,
    /// Executed density.
    pub density: f64,
    /// Median kernel time, ms.
    pub kernel_ms: f64,
    /// The GPU.
    pub device: String,
}

/// Every row of each file.
pub fn load(paths: &[impl AsRef<Path>]) -> Result<Vec<Timing>> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let mut reader = csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        for (i, row) in reader.deserialize().enumerate() {
            let t: Timing = row.with_context(|| format!("{}: data row {}", path.display(), i + 1))?;
            out.push(t);
        }
    }
    Ok(out)
}

/// The fastest row of `method` at `seq_len` and causality whose density is within `tol` of
/// `density` (any density when `None`).
pub fn fastest<'a>(
    rows: &'a [Timing],
    method: &str,
    seq_len: u64,
    causal: bool,
    density: Option<(f64, f64)>,
) -> Option<&'a Timing> {
    rows.iter()
        .filter(|r| r.method == method && r.seq_len == seq_len && r.causal == causal.to_string())
        .filter(|r| density.is_none_or(|(d, tol)| (r.density - d).abs() <= tol))
        .min_by(|a, b| a.kernel_ms.total_cmp(&b.kernel_ms))
}
