//! Running GEMMs through the schedule, the compute model and the pipeline: cycles, stalls,
//! traffic and access counts of one GEMM, or of two GEMMs interleaved tile by tile.

use super::config::AcceleratorConfig;
use super::effects::Effects;
use super::energy::AccessCounts;
use super::gemm::Gemm;
use super::memory::{Pipeline, StreamTime, TileStream, Tiling};
use super::schedule::{bandwidth, plans, Plan, TIE};
use crate::error::{Result, SimulatorError};

/// Instances simulated through the pipeline before extrapolating the rest linearly (the
/// steady-state increment between the last two).
const SIMULATED_INSTANCES: u64 = 3;

/// What one GEMM, all `count` instances, cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmRun {
    /// The schedule chosen.
    pub tiling: Tiling,
    /// Tiles per instance.
    pub tiles: u64,
    /// Cycles from the first load to the last write-back.
    pub cycles: f64,
    /// Cycles the array computed.
    pub compute_cycles: u64,
    /// Cycles the array waited for data.
    pub stall_cycles: f64,
    /// SCALE-Sim's mapping efficiency over all folds.
    pub mapping_efficiency: f64,
    /// What was touched.
    pub counts: AccessCounts,
}

/// Simulates `gemm` alone, with all the buffers.
pub fn simulate_gemm(gemm: &Gemm, config: &AcceleratorConfig, effects: &Effects) -> Result<GemmRun> {
    let p = measured_best(gemm, config, effects, 1.0)?;
    let times = run_pipeline(&[(gemm, &p)], config, effects);
    Ok(finish_run(gemm, &p, config, effects, times[0]))
}

/// Of the scheduler's shortlist, the plan whose single instance the pipeline finishes first;
/// plans within the scheduler's tie tolerance of it count as equal and the one moving the fewest
/// DRAM bytes wins (same time, less energy).
fn measured_best(gemm: &Gemm, config: &AcceleratorConfig, effects: &Effects, share: f64) -> Result<Plan> {
    let once = Gemm { count: 1, ..*gemm };
    let measured: Vec<(f64, f64, Plan)> = plans(gemm, config, effects, share)?
        .into_iter()
        .map(|p| {
            let t = run_pipeline(&[(&once, &p)], config, effects)[0];
            (t.compute as f64 + t.stall, p.tiling.traffic(gemm, &p.bytes).total(), p)
        })
        .collect();
    let fastest = measured.iter().map(|m| m.0).fold(f64::INFINITY, f64::min);
    measured
        .into_iter()
        .filter(|m| m.0 <= fastest * (1.0 + TIE))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|m| m.2)
        .ok_or_else(|| {
            SimulatorError::bad_workload(
                "gemm",
                format!("{gemm:?}"),
                "the scheduler found no schedule (internal error)",
            )
        })
}

/// Simulates two GEMMs of equal `count` sharing the array tile by tile, each scheduled with half
/// of every buffer. Returns their runs; the stalls of the shared timeline go to the GEMM whose
/// tile waited, so the two `cycles` add up to the shared total.
pub fn simulate_interleaved(
    first: &Gemm,
    second: &Gemm,
    config: &AcceleratorConfig,
    effects: &Effects,
) -> Result<(GemmRun, GemmRun)> {
    if first.count != second.count {
        return Err(SimulatorError::bad_workload(
            "gemm.count",
            format!("{} and {}", first.count, second.count),
            "interleaved GEMMs must repeat the same number of times",
        ));
    }
    let p1 = measured_best(first, config, effects, 0.5)?;
    let p2 = measured_best(second, config, effects, 0.5)?;
    let times = run_pipeline(&[(first, &p1), (second, &p2)], config, effects);
    Ok((
        finish_run(first, &p1, config, effects, times[0]),
        finish_run(second, &p2, config, effects, times[1]),
    ))
}

/// Pushes the tiles of every stream (merged in proportion to their lengths) through one pipeline
/// for up to [`SIMULATED_INSTANCES`] instances, then extrapolates to `count`.
fn run_pipeline(streams: &[(&Gemm, &Plan)], config: &AcceleratorConfig, effects: &Effects) -> Vec<StreamTime> {
    let array = config.array_shape();
    let ideal = !effects.array_underuse;
    let count = streams[0].0.count;
    let reps = count.min(SIMULATED_INSTANCES);
    let mut pipeline = Pipeline::new(bandwidth(config, effects), config.memory.double_buffered, streams.len());
    let mut snapshots: Vec<Vec<StreamTime>> = Vec::new();
    for _ in 0..reps {
        let mut iters: Vec<TileStream> = streams
            .iter()
            .map(|(g, p)| TileStream::new(g, p.tiling, p.bytes, array, ideal))
            .collect();
        let lens: Vec<u64> = iters.iter().map(TileStream::len).collect();
        let mut taken = vec![0u64; iters.len()];
        loop {
            // The stream furthest behind in relative progress goes next.
            let next = (0..iters.len())
                .filter(|&s| taken[s] < lens[s])
                .min_by(|&a, &b| (taken[a] * lens[b]).cmp(&(taken[b] * lens[a])));
            let Some(s) = next else { break };
            if let Some(step) = iters[s].next() {
                pipeline.push(&step, s);
            }
            taken[s] += 1;
        }
        snapshots.push(pipeline.clone().finish().1);
    }
    let last = &snapshots[snapshots.len() - 1];
    if count <= reps {
        return last.clone();
    }
    let prev = &snapshots[snapshots.len() - 2];
    let extra = (count - reps) as f64;
    last.iter()
        .zip(prev)
        .map(|(l, p)| StreamTime {
            compute: l.compute + (count - reps) * (l.compute - p.compute),
            stall: l.stall + extra * (l.stall - p.stall),
        })
        .collect()
}

/// Totals of one GEMM from its stream time and closed-form counts.
fn finish_run(gemm: &Gemm, p: &Plan, config: &AcceleratorConfig, effects: &Effects, time: StreamTime) -> GemmRun {
    let array = config.array_shape();
    let compute = p.tiling.compute_total(gemm, array, !effects.array_underuse);
    let traffic = p.tiling.traffic(gemm, &p.bytes);
    let b = &p.bytes;
    let dram_loads = traffic.a + traffic.b + traffic.c_read;
    let one = AccessCounts {
        macs: compute.macs,
        buffer_read_bytes: compute.a_reads as f64 * b.a_on_chip
            + compute.b_reads as f64 * b.b
            + compute.c_reads as f64 * b.psum_on_chip
            + traffic.c_write,
        buffer_write_bytes: dram_loads + compute.c_writes as f64 * b.psum_on_chip,
        dram_bytes: traffic.total(),
        pruned_weights: 0,
        updated_params: 0,
    };
    let stall = time.stall.max(0.0);
    GemmRun {
        tiling: p.tiling,
        tiles: p.tiling.trips(gemm).iter().product(),
        cycles: time.compute as f64 + stall,
        compute_cycles: time.compute,
        stall_cycles: stall,
        mapping_efficiency: compute.mapping_efficiency(),
        counts: one.scaled(gemm.count),
    }
}

#[cfg(test)]
mod tests {
    use super::super::compute::{self, ArrayShape, Dataflow, GemmDims};
    use super::super::gemm::NmRatio;
    use super::*;

    #[test]
    fn ideal_memory_equals_the_compute_model() {
        for df in Dataflow::ALL {
            let cfg = AcceleratorConfig::ideal(16, 8, df);
            let g = Gemm::dense(100, 37, 50);
            let run = simulate_gemm(&g, &cfg, &Effects::ALL_ON).unwrap();
            let dims = GemmDims {
                m: 100,
                k: 37,
                kept_k: 37,
                n: 50,
            };
            let c = compute::cost(dims, ArrayShape { rows: 16, cols: 8 }, df, false);
            assert_eq!((run.cycles, run.stall_cycles), (c.cycles as f64, 0.0));
        }
    }

    #[test]
    fn compute_bound_sparse_gemm_takes_n_over_m_of_the_cycles() {
        // Exactly N/M for a fixed dataflow with memory out of the way; within 20% on the FPGA
        // preset, where finite buffers cut the streamed dimension into tiles that each refill the
        // array, and the scheduler may pick other dataflows and tiles for the two GEMMs.
        let ideal = AcceleratorConfig::ideal(64, 32, Dataflow::WeightStationary);
        let fpga = AcceleratorConfig::preset("vcu1525").unwrap();
        let dense = Gemm::dense(4096, 4096, 1024);
        for (cfg, tolerance) in [(&ideal, 1e-9), (&fpga, 0.2)] {
            let d = simulate_gemm(&dense, cfg, &Effects::ALL_ON).unwrap();
            for (n, m) in [(2, 4), (1, 4), (2, 8), (1, 8)] {
                let nm = NmRatio::new(n, m).unwrap();
                let s = simulate_gemm(&dense.with_sparsity(Some(nm)), cfg, &Effects::ALL_ON).unwrap();
                let ratio = s.cycles / d.cycles;
                assert!(
                    (ratio / nm.density() - 1.0).abs() <= tolerance,
                    "{}: {nm}: {ratio}",
                    cfg.name
                );
                assert_eq!(s.counts.macs * u64::from(m), d.counts.macs * u64::from(n));
            }
        }
    }

    #[test]
    fn repeated_instances_scale_linearly() {
        let cfg = AcceleratorConfig::preset("vcu1525").unwrap();
        let one = simulate_gemm(&Gemm::dense(197, 64, 197), &cfg, &Effects::ALL_ON).unwrap();
        let mut g = Gemm::dense(197, 64, 197);
        g.count = 100;
        let many = simulate_gemm(&g, &cfg, &Effects::ALL_ON).unwrap();
        assert_eq!(many.compute_cycles, 100 * one.compute_cycles);
        assert!(
            many.cycles <= 100.0 * one.cycles + 1e-6,
            "later instances overlap their loads"
        );
        assert_eq!(many.counts.macs, 100 * one.counts.macs);
    }

    #[test]
    fn a_starved_memory_stalls() {
        let mut cfg = AcceleratorConfig::preset("vcu1525").unwrap();
        let g = Gemm::dense(8192, 64, 64);
        let fast = simulate_gemm(&g, &cfg, &Effects::ALL_ON).unwrap();
        cfg.memory.dram_gbps = 0.5;
        let slow = simulate_gemm(&g, &cfg, &Effects::ALL_ON).unwrap();
        assert!(slow.stall_cycles > 10.0 * fast.stall_cycles.max(1.0));
        assert!(slow.cycles > fast.cycles);
        let no_stalls = simulate_gemm(
            &g,
            &cfg,
            &Effects::ALL_ON.without(super::super::effects::Effect::DramStalls),
        );
        assert_eq!(no_stalls.unwrap().stall_cycles, 0.0);
    }

    #[test]
    fn interleaving_needs_equal_counts_and_keeps_the_work() {
        let cfg = AcceleratorConfig::preset("vcu1525").unwrap();
        let mut twice = Gemm::dense(64, 64, 64);
        twice.count = 2;
        assert!(simulate_interleaved(&Gemm::dense(64, 64, 64), &twice, &cfg, &Effects::ALL_ON).is_err());
        let (a, b) = (Gemm::dense(8192, 64, 64), Gemm::dense(64, 8192, 64));
        let (x, y) = simulate_interleaved(&a, &b, &cfg, &Effects::ALL_ON).unwrap();
        assert_eq!((x.counts.macs, y.counts.macs), (a.dense_macs(), b.dense_macs()));
        assert!(x.cycles >= x.compute_cycles as f64 && y.cycles >= y.compute_cycles as f64);
    }
}
