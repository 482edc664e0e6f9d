//! The GPU what-if: each method's predicted time and speedup over dense on a GPU preset
//! whose ceilings are scaled per grid point (`--vary bandwidth=0.5,1,2 --vary flops=1,2`;
//! any `--scale` target of `sparselab roofline`).

use anyhow::{Context, Result};
use serde::Serialize;
use sparselab_simulators::roofline::AttentionShape;

use super::accelerator::label;
use super::grid::Point;
use crate::commands::roofline::{load_preset, row};
use crate::provenance::Provenance;
use crate::roofline_work::analytic;

/// Parameters a GPU sweep can vary: the roofline's `--scale` targets (factors on the preset).
pub const AXES: [&str; 9] = [
    "bandwidth",
    "flops",
    "tensor",
    "vector",
    "sfu",
    "l2_bandwidth",
    "l2",
    "sms",
    "launch",
];

/// What every point of a GPU sweep shares.
pub struct GpuSweep<'a> {
    /// Preset name or TOML path.
    pub hardware: &'a str,
    /// Method specs, e.g. `vertical-slash:v=1000,s=6096`.
    pub methods: &'a [String],
    /// Tokens.
    pub seq_lens: &'a [u64],
    /// The attention shape at the first length (the length is replaced per row).
    pub shape: AttentionShape,
    /// Kernel model for every method (default: the roofline's per-method default).
    pub kernel: Option<&'a str>,
}

/// One CSV row: a method at one length and grid point.
#[derive(Debug, Clone, Serialize)]
pub struct GpuRow {
    /// Position in the unsharded list of rows (orders merged shards).
    pub work_index: usize,
    /// The grid point, `name=value` joined by `;`.
    pub point: String,
    /// Preset name.
    pub hardware: String,
    /// Method name.
    pub method: String,
    /// Parameters the work was built with.
    pub params: String,
    /// Kernel model.
    pub kernel: String,
    /// Tokens.
    pub seq_len: u64,
    /// Executed pairs (after tile rounding) over dense pairs.
    pub density: f64,
    /// Predicted time, ms.
    pub predicted_ms: f64,
    /// Datasheet-ceiling time, ms.
    pub roofline_ms: f64,
    /// compute or memory.
    pub bound: String,
    /// The limiting unit.
    pub limiter: String,
    /// Predicted dense time on the same point over this method's.
    pub speedup_vs_dense: f64,
    /// The preset's parameters after scaling.
    pub preset: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
}

impl GpuSweep<'_> {
    /// Rows per grid point.
    pub fn rows_per_point(&self) -> usize {
        self.methods.len() * self.seq_lens.len()
    }

    /// Predicts every method and length at `point`; `first_index` numbers the rows.
    pub fn rows_at(&self, point: &Point, first_index: usize, prov: &Provenance) -> Result<Vec<GpuRow>> {
        let scales: Vec<String> = point.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let (preset, scale) = load_preset(Some(self.hardware), "h100", &scales)?;
        let mut rows = Vec::new();
        for &seq_len in self.seq_lens {
            let shape = AttentionShape { seq_len, ..self.shape };
            for spec in self.methods {
                let mw = analytic(spec, shape, self.kernel).with_context(|| format!("method {spec}"))?;
                let r = row(&preset, &scale, prov, &mw)?;
                rows.push(GpuRow {
                    work_index: first_index + rows.len(),
                    point: label(point),
                    hardware: r.hardware,
                    method: r.method,
                    params: r.params,
                    kernel: r.kernel,
                    seq_len,
                    density: r.density,
                    predicted_ms: r.predicted_ms,
                    roofline_ms: r.roofline_ms,
                    bound: r.bound,
                    limiter: r.limiter,
                    speedup_vs_dense: r.speedup_vs_dense,
                    preset: r.preset,
                    git_commit: r.git_commit,
                    date: r.date,
                });
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep<'a>(methods: &'a [String], lens: &'a [u64]) -> GpuSweep<'a> {
        GpuSweep {
            hardware: "h100",
            methods,
            seq_lens: lens,
            shape: AttentionShape {
                seq_len: lens[0],
                heads: 32,
                kv_heads: 8,
                head_dim: 128,
                causal: true,
                dtype_bytes: 2,
            },
            kernel: None,
        }
    }

    #[test]
    fn more_flops_make_compute_bound_dense_faster_and_bandwidth_does_not() {
        let methods = vec!["dense".to_string()];
        let s = sweep(&methods, &[65536]);
        let prov = Provenance::cpu();
        let at = |n: &str, v: &str| s.rows_at(&vec![(n.to_string(), v.to_string())], 0, &prov).unwrap()[0].clone();
        let base = at("flops", "1");
        assert_eq!(base.bound, "compute", "long dense attention is compute bound");
        assert!(at("flops", "2").predicted_ms < 0.6 * base.predicted_ms);
        assert!((at("bandwidth", "2").predicted_ms - base.predicted_ms).abs() < 0.01 * base.predicted_ms);
    }

    #[test]
    fn rows_are_numbered_from_the_first_index() {
        let methods = vec!["dense".to_string(), "vertical-slash:v=1000,s=6096".to_string()];
        let s = sweep(&methods, &[16384, 65536]);
        let rows = s.rows_at(&Vec::new(), 10, &Provenance::cpu()).unwrap();
        assert_eq!(rows.len(), s.rows_per_point());
        assert_eq!(
            rows.iter().map(|r| r.work_index).collect::<Vec<_>>(),
            vec![10, 11, 12, 13]
        );
        assert_eq!(rows[0].speedup_vs_dense, 1.0);
        assert!(rows[3].speedup_vs_dense > 1.0, "vertical-slash beats dense at 64k");
    }
}
