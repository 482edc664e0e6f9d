//! The accelerator what-if: a BDWP N:M training step of each model on the preset
//! with one or more parameters varied (`array`, `rows`, `cols`, `bandwidth`, `clock`,
//! `lanes`, `nm`), and the speedup over dense training on the same varied hardware.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sparselab_simulators::accelerator::{AcceleratorConfig, Effects, ModelSpec, NmRatio, StepSimulator};

use super::grid::Point;
use crate::provenance::Provenance;

/// Parameters an accelerator sweep can vary.
pub const AXES: [&str; 7] = ["array", "rows", "cols", "bandwidth", "clock", "lanes", "nm"];

/// One CSV row: a model at one grid point and N:M ratio.
#[derive(Debug, Clone, Serialize)]
pub struct AcceleratorRow {
    /// Position in the unsharded list of rows (orders merged shards).
    pub work_index: usize,
    /// The grid point, `name=value` joined by `;`.
    pub point: String,
    /// Model name.
    pub model: String,
    /// N:M ratio of the sparse step.
    pub nm: String,
    /// PE rows x columns at this point.
    pub array_shape: String,
    /// DRAM bandwidth at this point, GB/s.
    pub dram_gbps: f64,
    /// Cycles of the dense training step.
    pub dense_cycles: f64,
    /// Cycles of the N:M training step.
    pub sparse_cycles: f64,
    /// Dense cycles over sparse cycles.
    pub speedup_vs_dense: f64,
    /// Wall time of the sparse step at this point's clock, milliseconds.
    pub sparse_time_ms: f64,
    /// Preset the point was derived from.
    pub preset: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
}

/// `base` with the point's hardware values applied (every axis but `nm`). Values are absolute
/// (`array=64` is a 64x64 array, `clock=400` MHz) except `bandwidth`, a factor on the preset's DRAM.
pub fn configure(base: &AcceleratorConfig, point: &Point) -> Result<AcceleratorConfig> {
    let mut c = base.clone();
    for (name, value) in point {
        let number = || -> Result<f64> {
            let v: f64 = value
                .parse()
                .with_context(|| format!("--vary {name}: `{value}` is not a number"))?;
            if !(v.is_finite() && v > 0.0) {
                bail!("--vary {name}: `{value}` must be a positive number");
            }
            Ok(v)
        };
        let whole = || -> Result<u64> {
            let v = number()?;
            if v.fract() != 0.0 {
                bail!("--vary {name}: `{value}` must be a whole number");
            }
            Ok(v as u64)
        };
        match name.as_str() {
            "array" => {
                let n = whole()?;
                c.array.rows = n;
                c.array.cols = n;
            }
            "rows" => c.array.rows = whole()?,
            "cols" => c.array.cols = whole()?,
            "bandwidth" => c.memory.dram_gbps = base.memory.dram_gbps * number()?,
            "clock" => c.array.clock_mhz = number()?,
            "lanes" => c.pruning.lanes = whole()?,
            "nm" => {}
            other => bail!(
                "--vary {other} is not an accelerator parameter (known: {})",
                AXES.join(", ")
            ),
        }
    }
    c.validate(&format!("{} varied at {}", base.name, label(point)))
        .context("the varied accelerator is not valid")?;
    Ok(c)
}

/// The point as `name=value;name=value` (`base` when nothing is varied).
pub fn label(point: &Point) -> String {
    if point.is_empty() {
        return "base".into();
    }
    point
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The N:M ratios of a point: its `nm` value, else `default`.
pub fn ratios(point: &Point, default: &[NmRatio]) -> Result<Vec<NmRatio>> {
    match point.iter().find(|(n, _)| n == "nm") {
        Some((_, v)) => Ok(vec![NmRatio::parse(v).with_context(|| format!("--vary nm: `{v}`"))?]),
        None => Ok(default.to_vec()),
    }
}

/// Simulates every model at `point`, dense and at each ratio; `first_index` numbers the rows.
pub fn rows_at(
    base: &AcceleratorConfig,
    point: &Point,
    models: &[ModelSpec],
    default_nm: &[NmRatio],
    first_index: usize,
    prov: &Provenance,
) -> Result<Vec<AcceleratorRow>> {
    let config = configure(base, point)?;
    let mut sim = StepSimulator::new(&config);
    let mut rows = Vec::new();
    for model in models {
        let dense = sim
            .step(model, None, &Effects::ALL_ON)
            .with_context(|| format!("simulating dense {} at {}", model.name, label(point)))?;
        for nm in ratios(point, default_nm)? {
            let sparse = sim
                .step(model, Some(nm), &Effects::ALL_ON)
                .with_context(|| format!("simulating {} at {nm}, {}", model.name, label(point)))?;
            rows.push(AcceleratorRow {
                work_index: first_index + rows.len(),
                point: label(point),
                model: model.name.clone(),
                nm: nm.to_string(),
                array_shape: format!("{}x{}", config.array.rows, config.array.cols),
                dram_gbps: config.memory.dram_gbps,
                dense_cycles: dense.total_cycles(),
                sparse_cycles: sparse.total_cycles(),
                speedup_vs_dense: dense.total_cycles() / sparse.total_cycles(),
                sparse_time_ms: sparse.total_cycles() * config.seconds_per_cycle() * 1e3,
                preset: base.name.clone(),
                git_commit: prov.git_commit.clone(),
                date: prov.date.clone(),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_simulators::accelerator::DEFAULT_PRESET;

    fn point(pairs: &[(&str, &str)]) -> Point {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn configure_applies_absolute_values_and_the_bandwidth_factor() {
        let base = AcceleratorConfig::preset(DEFAULT_PRESET).unwrap();
        let c = configure(&base, &point(&[("array", "32"), ("bandwidth", "2")])).unwrap();
        assert_eq!((c.array.rows, c.array.cols), (32, 32));
        assert_eq!(c.memory.dram_gbps, 2.0 * base.memory.dram_gbps);
        assert!(configure(&base, &point(&[("array", "0")])).is_err());
        assert!(format!("{:#}", configure(&base, &point(&[("array", "1.5")])).unwrap_err()).contains("whole"));
        assert!(format!("{:#}", configure(&base, &point(&[("bandwidth", "x")])).unwrap_err()).contains("`x`"));
    }

    #[test]
    fn a_larger_array_runs_the_same_step_in_fewer_cycles() {
        let base = AcceleratorConfig::preset(DEFAULT_PRESET).unwrap();
        let model = ModelSpec::by_name("bert-layer", 2, 64).unwrap();
        let nm = [NmRatio::parse("2:8").unwrap()];
        let prov = Provenance::cpu();
        let small = rows_at(
            &base,
            &point(&[("array", "16")]),
            std::slice::from_ref(&model),
            &nm,
            0,
            &prov,
        )
        .unwrap();
        let large = rows_at(&base, &point(&[("array", "64")]), &[model], &nm, 1, &prov).unwrap();
        assert!(large[0].sparse_cycles < small[0].sparse_cycles);
        assert_eq!(large[0].work_index, 1);
        assert!(small[0].speedup_vs_dense > 1.0 && small[0].speedup_vs_dense <= 2.0 + 1e-9);
    }
}
