//! SAT/BDWP (arXiv 2309.13015): 1.75x average training speedup at 2:8 over dense.
//! Ours: the accelerator model's BDWP training step on every built-in model, at its
//! VCU1525-like preset, averaged like the paper's figure.

use anyhow::{Context, Result};
use sparselab_simulators::accelerator::{
    AcceleratorConfig, Effects, ModelSpec, NmRatio, StepSimulator, DEFAULT_PRESET, MODEL_NAMES,
};

use super::papers::figure;
use super::row::{Origin, ReproduceRow};
use crate::provenance::Provenance;

const PAPER: &str = "sat-bdwp";

/// The simulated 2:8 speedup (mean over the models) beside the paper's 1.75x, and the bound.
pub fn rows() -> Result<Vec<ReproduceRow>> {
    let config = AcceleratorConfig::preset(DEFAULT_PRESET).context("loading the accelerator preset")?;
    let prov = Provenance {
        device: format!("accelerator model {}", config.describe()),
        driver: "none".into(),
        cuda: "none".into(),
        ..Provenance::cpu()
    };
    let origin = Origin::Predicted(format!("the accelerator model ({DEFAULT_PRESET} preset)"));
    let nm = NmRatio::parse("2:8").context("parsing 2:8")?;
    let mut sim = StepSimulator::new(&config);
    let mut speedups = Vec::new();
    for name in MODEL_NAMES {
        let spec = ModelSpec::by_name(name, 32, 128).with_context(|| format!("model {name}"))?;
        let dense = sim.step(&spec, None, &Effects::ALL_ON)?;
        let sparse = sim.step(&spec, Some(nm), &Effects::ALL_ON)?;
        speedups.push((name, dense.total_cycles() / sparse.total_cycles()));
    }
    let mean = speedups.iter().map(|(_, s)| s).sum::<f64>() / speedups.len() as f64;
    let each: Vec<String> = speedups.iter().map(|(n, s)| format!("{n} {s:.2}x")).collect();
    let avg = figure(PAPER, "training speedup over dense", "2:8 average")?;
    let bound = figure(PAPER, "ideal training speedup bound", "2:8")?;
    let with_everything_off = {
        let spec = ModelSpec::by_name("resnet50", 32, 128)?;
        let dense = sim.step(&spec, None, &Effects::ALL_OFF)?;
        let sparse = sim.step(&spec, Some(nm), &Effects::ALL_OFF)?;
        dense.total_cycles() / sparse.total_cycles()
    };
    Ok(vec![
        ReproduceRow::new(
            PAPER,
            &avg,
            mean,
            &origin,
            &format!(
                "mean over our models at batch 32 ({}); the paper's model set differs",
                each.join(", ")
            ),
            &prov,
        ),
        ReproduceRow::new(
            PAPER,
            &bound,
            with_everything_off,
            &origin,
            "resnet50 with every modeled effect off (no stalls, no pruning latency, ideal utilization)",
            &prov,
        ),
    ])
}
