//! Simulation speed of the accelerator model, in simulated cycles per wall second.
//!
//! Timing model: criterion's warm-up, then sampled iterations of whole simulations (schedule
//! search, compute model, tile pipeline); throughput is the simulated cycles of one iteration,
//! so criterion's "elem/s" reads as simulated cycles per second.
//! - `scalesim_golden`: the 60 (GEMM, array, dataflow) cases of `tests/golden/scalesim/`, the
//!   same GEMMs `scripts/scalesim/time_scalesim.sh` times SCALE-Sim on (ideal memory, as in its
//!   bandwidth-estimation mode);
//! - `training_step`: one dense ResNet-50 training step (batch 32) on the FPGA preset, every
//!   schedule searched afresh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sparselab_simulators::accelerator::{
    simulate_gemm, AcceleratorConfig, Dataflow, Effects, Gemm, ModelSpec, StepSimulator,
};
use std::path::Path;

/// (config, GEMM) pairs of the SCALE-Sim golden set.
fn golden_cases() -> Vec<(AcceleratorConfig, Gemm)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scalesim");
    let shapes = std::fs::read_to_string(dir.join("gemm_shapes.csv")).expect("golden shapes are committed");
    let gemms: Vec<Gemm> = shapes
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<u64> = l
                .split(',')
                .skip(1)
                .take(3)
                .map(|x| x.trim().parse().expect("integer"))
                .collect();
            // Topology columns are M, N, K.
            Gemm::dense(f[0], f[2], f[1])
        })
        .collect();
    let mut cases = Vec::new();
    for (rows, cols) in [(8, 8), (16, 8), (32, 32)] {
        for df in [Dataflow::OutputStationary, Dataflow::WeightStationary] {
            let cfg = AcceleratorConfig::ideal(rows, cols, df);
            cases.extend(gemms.iter().map(|g| (cfg.clone(), *g)));
        }
    }
    cases
}

fn scalesim_golden(c: &mut Criterion) {
    let cases = golden_cases();
    let cycles: f64 = cases
        .iter()
        .map(|(cfg, g)| {
            simulate_gemm(g, cfg, &Effects::ALL_ON)
                .expect("golden cases fit")
                .cycles
        })
        .sum();
    let mut group = c.benchmark_group("accelerator");
    group.throughput(Throughput::Elements(cycles as u64));
    group.bench_function("scalesim_golden", |b| {
        b.iter(|| {
            cases
                .iter()
                .map(|(cfg, g)| {
                    simulate_gemm(g, cfg, &Effects::ALL_ON)
                        .expect("golden cases fit")
                        .cycles
                })
                .sum::<f64>()
        })
    });
    group.finish();
}

fn training_step(c: &mut Criterion) {
    let cfg = AcceleratorConfig::preset("vcu1525").expect("built-in preset");
    let model = ModelSpec::by_name("resnet50", 32, 0).expect("known model");
    let step = |cfg: &AcceleratorConfig| {
        StepSimulator::new(cfg)
            .step(&model, None, &Effects::ALL_ON)
            .expect("resnet50 fits the preset")
            .total_cycles()
    };
    let mut group = c.benchmark_group("accelerator");
    group.sample_size(10);
    group.throughput(Throughput::Elements(step(&cfg) as u64));
    group.bench_function("resnet50_dense_step", |b| b.iter(|| step(&cfg)));
    group.finish();
}

criterion_group!(benches, scalesim_golden, training_step);
criterion_main!(benches);
