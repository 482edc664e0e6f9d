//! A kernel's efficiency and per-block overhead solved from dense timings at two lengths, so that
//! the roofline reproduces both (what `sparselab calibrate` writes into `[measured.kernels.NAME]`).
//!
//! For dense attention, compute-bound (every length we calibrate at), the predicted kernel time is
//! `time(L; e, o) = C(L) / e x W(L, o) / T(L) x tail(L, o)` ([`super::model`]): `C` the compute
//! time of the `T` executed tiles at efficiency 1 on the measured ceilings, `W = sum_b (t_b + o)`
//! the work with `o` tile-times of fixed cost per thread block, `tail` the wave tail. Two
//! unknowns, two timings:
//! - efficiency from the long run: `e = C(L_long) W(L_long, o) tail(L_long, o) / (T time_long)`,
//!   exact for any `o`;
//! - overhead from the short run: `o` such that `time(L_short; e, o) = time_short` (bisection on
//!   `[0, MAX_BLOCK_OVERHEAD_TILES]`; the time grows with `o`).
//!
//! The two are alternated from the kernel model's constant until `o` moves by less than
//! [`OVERHEAD_TOLERANCE_TILES`]; the overhead weighs 4x less at 4x the length, so each round
//! shrinks the change about 4-fold. A short run faster than the model with no overhead at all
//! gives `o = 0` and a nonzero [`DenseFit::short_error`].

use super::families;
use super::hardware::{GpuPreset, ResolvedEfficiency, MAX_BLOCK_OVERHEAD_TILES};
use super::kernels::KernelSpec;
use super::model::{predict_with, PhaseTime};
use super::work::AttentionShape;
use crate::error::{Result, SimulatorError};

/// Change of the overhead (key tiles) below which the alternation stops: the wave schedule
/// counts work in steps of 1e-6 tile ([`super::waves`]), so the times are reproduced to ~1e-8.
pub const OVERHEAD_TOLERANCE_TILES: f64 = 1e-6;
/// Rounds of the alternation before giving up.
const MAX_ROUNDS: usize = 200;
/// Bisection steps on the overhead (`1000 / 2^64` tiles: below f64 resolution).
const BISECTION_STEPS: usize = 64;
/// Efficiency bounds (a kernel measured faster than its memory time cannot be explained by efficiency).
const EFFICIENCY_RANGE: (f64, f64) = (1e-3, 1.0);

/// One measured dense attention call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseTiming {
    /// Shape of the call (its `causal` picks the efficiency solved).
    pub shape: AttentionShape,
    /// Measured kernel time, seconds.
    pub time_s: f64,
}

/// What [`fit_dense`] solved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseFit {
    /// Tensor efficiency against the preset's sustained (measured) ceilings, (0, 1].
    pub tensor_efficiency: f64,
    /// Per-block overhead in key tiles; `None` when no short run was given (keep the constant).
    pub block_overhead_tiles: Option<f64>,
    /// (predicted - measured) / measured at the short length after the fit (0 unless `o` hit 0).
    pub short_error: f64,
    /// Rounds of the alternation.
    pub rounds: usize,
}

/// The kernel phase of dense attention on `shape` with efficiency `e` and overhead `o`.
fn dense_phase(preset: &GpuPreset, kernel: &KernelSpec, shape: AttentionShape, e: f64, o: f64) -> Result<PhaseTime> {
    let work = families::dense(shape, kernel.tile)?;
    let eff = ResolvedEfficiency {
        tensor: e,
        memory: 1.0,
        source: "measured",
        block_overhead_tiles: Some(o),
    };
    Ok(predict_with(preset, &work, kernel, &eff)?.predicted_kernel)
}

/// The efficiency that reproduces `t` with overhead `o` (only the compute time scales with it).
fn efficiency_for(preset: &GpuPreset, kernel: &KernelSpec, t: &DenseTiming, o: f64) -> Result<f64> {
    let ideal = dense_phase(preset, kernel, t.shape, 1.0, o)?;
    Ok((ideal.compute_s * ideal.tail_factor / t.time_s).clamp(EFFICIENCY_RANGE.0, EFFICIENCY_RANGE.1))
}

/// The overhead that reproduces `t` at efficiency `e` (0 when even no overhead is too slow).
fn overhead_for(preset: &GpuPreset, kernel: &KernelSpec, t: &DenseTiming, e: f64) -> Result<f64> {
    let time = |o: f64| dense_phase(preset, kernel, t.shape, e, o).map(|p| p.time_s);
    if time(0.0)? >= t.time_s {
        return Ok(0.0);
    }
    let most = time(MAX_BLOCK_OVERHEAD_TILES)?;
    if most < t.time_s {
        return Err(SimulatorError::bad_workload(
            "short dense time",
            format!("{:.6} ms at L={}", t.time_s * 1e3, t.shape.seq_len),
            format!(
                "at most {:.6} ms (the model with {MAX_BLOCK_OVERHEAD_TILES} tiles of overhead per block); check the timing",
                most * 1e3
            ),
        ));
    }
    let (mut lo, mut hi) = (0.0, MAX_BLOCK_OVERHEAD_TILES);
    for _ in 0..BISECTION_STEPS {
        let mid = 0.5 * (lo + hi);
        if time(mid)? < t.time_s {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

fn check(t: &DenseTiming, what: &str) -> Result<()> {
    t.shape.validate()?;
    if !(t.time_s.is_finite() && t.time_s > 0.0) {
        return Err(SimulatorError::bad_workload(
            what,
            t.time_s,
            "a positive time in seconds",
        ));
    }
    Ok(())
}

/// Solves `kernel`'s efficiency (and, with a `short` run, its per-block overhead) so that the
/// roofline on `preset` reproduces the measured dense times (see the module docs). `preset` must
/// carry `[measured]` ceilings: the fit is relative to them (memory efficiency 1).
pub fn fit_dense(
    preset: &GpuPreset,
    kernel: &KernelSpec,
    long: &DenseTiming,
    short: Option<&DenseTiming>,
) -> Result<DenseFit> {
    if preset.measured.is_none() {
        return Err(SimulatorError::bad_config(
            &preset.name,
            "measured",
            "absent",
            "a calibrated preset (sparselab calibrate writes [measured]); efficiencies are relative to it",
        ));
    }
    check(long, "long dense time")?;
    let Some(short) = short else {
        // The overhead predict() will use once an entry without one is written: the preset's, else the constant.
        let o = preset
            .kernels
            .get(kernel.name)
            .and_then(|k| k.block_overhead(long.shape.causal))
            .unwrap_or(kernel.block_overhead_tiles);
        let e = efficiency_for(preset, kernel, long, o)?;
        return Ok(DenseFit {
            tensor_efficiency: e,
            block_overhead_tiles: None,
            short_error: 0.0,
            rounds: 0,
        });
    };
    check(short, "short dense time")?;
    if short.shape.seq_len >= long.shape.seq_len || short.shape.causal != long.shape.causal {
        return Err(SimulatorError::bad_workload(
            "short dense run",
            format!("L={} causal={}", short.shape.seq_len, short.shape.causal),
            format!(
                "shorter than the long run (L={}) and of the same causality ({})",
                long.shape.seq_len, long.shape.causal
            ),
        ));
    }
    let mut o = kernel.block_overhead_tiles;
    for round in 1..=MAX_ROUNDS {
        let e = efficiency_for(preset, kernel, long, o)?;
        let next = overhead_for(preset, kernel, short, e)?;
        let moved = (next - o).abs();
        o = next;
        if moved < OVERHEAD_TOLERANCE_TILES {
            let e = efficiency_for(preset, kernel, long, o)?;
            let predicted = dense_phase(preset, kernel, short.shape, e, o)?.time_s;
            return Ok(DenseFit {
                tensor_efficiency: e,
                block_overhead_tiles: Some(o),
                short_error: predicted / short.time_s - 1.0,
                rounds: round,
            });
        }
    }
    Err(SimulatorError::bad_workload(
        "block overhead fit",
        format!("{o} tiles after {MAX_ROUNDS} rounds"),
        format!(
            "a converging fit: the long run (L={}) should be several times the short one (L={})",
            long.shape.seq_len, short.shape.seq_len
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roofline::hardware::Measured;
    use crate::roofline::model::predict;
    use std::collections::BTreeMap;

    fn shape(l: u64, causal: bool) -> AttentionShape {
        AttentionShape {
            seq_len: l,
            heads: 32,
            kv_heads: 32,
            head_dim: 128,
            causal,
            dtype_bytes: 2,
        }
    }

    fn calibrated_h100() -> GpuPreset {
        let mut p = GpuPreset::load("h100").unwrap();
        p.measured = Some(Measured {
            tensor_flops: 788e12,
            hbm_bandwidth: 2.99e12,
            date: "2026-11-23".into(),
            device: "test".into(),
            driver: "test".into(),
            kernels: BTreeMap::new(),
        });
        p
    }

    /// Synthetic timings made by the model itself with a known efficiency and overhead.
    fn synthetic(preset: &GpuPreset, kernel: &KernelSpec, causal: bool, e: f64, o: f64) -> (DenseTiming, DenseTiming) {
        let at = |l: u64| DenseTiming {
            shape: shape(l, causal),
            time_s: dense_phase(preset, kernel, shape(l, causal), e, o).unwrap().time_s,
        };
        (at(16384), at(4096))
    }

    #[test]
    fn recovers_a_known_efficiency_and_overhead() {
        let p = calibrated_h100();
        for name in ["sparselab", "sparselab-w4m1"] {
            let k = KernelSpec::by_name(name).unwrap();
            for causal in [false, true] {
                let (long, short) = synthetic(&p, &k, causal, 0.4, 9.0);
                let fit = fit_dense(&p, &k, &long, Some(&short)).unwrap();
                let o = fit.block_overhead_tiles.unwrap();
                assert!((o - 9.0).abs() < 1e-5, "{name} causal {causal}: {fit:?}");
                assert!((fit.tensor_efficiency - 0.4).abs() < 1e-8, "{fit:?}");
                assert!(fit.short_error.abs() < 1e-7 && fit.rounds > 1, "{fit:?}");
            }
        }
    }

    #[test]
    fn both_lengths_are_reproduced_through_the_written_preset() {
        // Timings not made by the model (a 20% slower short run than the constant predicts):
        // written into [measured.kernels.NAME], predict() must give back both times.
        let mut p = calibrated_h100();
        let k = KernelSpec::by_name("sparselab").unwrap();
        let (long, mut short) = synthetic(&p, &k, true, 0.39, k.block_overhead_tiles);
        short.time_s *= 1.2;
        let fit = fit_dense(&p, &k, &long, Some(&short)).unwrap();
        let o = fit.block_overhead_tiles.unwrap();
        assert!(o > k.block_overhead_tiles, "{fit:?}");
        if let Some(m) = p.measured.as_mut() {
            m.kernels.insert(
                k.name.to_string(),
                crate::roofline::KernelEfficiency {
                    tensor_efficiency: 0.5,
                    causal_tensor_efficiency: Some(fit.tensor_efficiency),
                    memory_efficiency: None,
                    block_overhead_tiles: None,
                    causal_block_overhead_tiles: Some(o),
                },
            );
        }
        let back = GpuPreset::from_toml_str(&p.to_toml_string().unwrap(), "fit.toml").unwrap();
        for t in [&long, &short] {
            let pred = predict(&back, &families::dense(t.shape, k.tile).unwrap(), &k).unwrap();
            assert_eq!(pred.block_overhead_tiles, o);
            let err = pred.predicted_kernel.time_s / t.time_s - 1.0;
            assert!(err.abs() < 1e-7, "L={}: {err}", t.shape.seq_len);
        }
        // Non-causal has no measured overhead: the kernel's constant.
        let full = predict(&back, &families::dense(shape(4096, false), k.tile).unwrap(), &k).unwrap();
        assert_eq!(full.block_overhead_tiles, k.block_overhead_tiles);
    }

    #[test]
    fn a_short_run_faster_than_the_model_gives_zero_overhead() {
        let p = calibrated_h100();
        let k = KernelSpec::by_name("sparselab").unwrap();
        let (long, mut short) = synthetic(&p, &k, false, 0.4, 0.0);
        short.time_s *= 0.9;
        let fit = fit_dense(&p, &k, &long, Some(&short)).unwrap();
        assert_eq!(fit.block_overhead_tiles, Some(0.0));
        assert!((fit.short_error - (1.0 / 0.9 - 1.0)).abs() < 1e-6, "{fit:?}");
    }

    #[test]
    fn bad_inputs_name_the_problem() {
        let p = calibrated_h100();
        let k = KernelSpec::by_name("sparselab").unwrap();
        let (long, short) = synthetic(&p, &k, true, 0.4, 2.0);
        let e = fit_dense(&GpuPreset::load("h100").unwrap(), &k, &long, Some(&short))
            .unwrap_err()
            .to_string();
        assert!(e.contains("measured"), "{e}");
        let e = fit_dense(&p, &k, &short, Some(&long)).unwrap_err().to_string();
        assert!(e.contains("L=16384") && e.contains("shorter"), "{e}");
        let slow = DenseTiming { time_s: 1.0, ..short };
        let e = fit_dense(&p, &k, &long, Some(&slow)).unwrap_err().to_string();
        assert!(e.contains("1000.000000 ms") && e.contains("check the timing"), "{e}");
        let nan = DenseTiming {
            time_s: f64::NAN,
            ..long
        };
        assert!(fit_dense(&p, &k, &nan, None).unwrap_err().to_string().contains("NaN"));
        // Without a short run only the efficiency is solved.
        let fit = fit_dense(&p, &k, &long, None).unwrap();
        assert_eq!(fit.block_overhead_tiles, None);
    }
}
