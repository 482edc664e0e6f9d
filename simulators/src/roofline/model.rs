//! The roofline prediction of one attention call: an index-estimation phase and the sparse kernel,
//! each `max(compute time, memory time)`, summed, plus launch overhead.
//!
//! Kernel phase, for `T` executed tiles of `tile_q x tile_k` (after block rounding) and head dim `D`:
//! - tensor FLOPs `= T tile_q tile_k 4 D` (`S = Q K^T` and `O = P V`, 2 FLOPs per multiply-add);
//! - exp (SFU) `= T tile_q tile_k + T tile_q` (one per score, one rescale factor per row and tile);
//! - vector FLOPs `= T (4 tile_q tile_k + tile_q D) + heads L D` (scale and subtract the row max
//!   as one FMA, row max, row sum; rescaling the accumulator per tile; the final normalisation);
//! - compute time `= max(tensor / tensor_flops, exp / sfu_ops, vector / vector_flops)`: the units
//!   run concurrently, the slowest one sets the pace;
//! - memory time `= max(HBM bytes / hbm_bandwidth, L2 bytes / l2_bandwidth)` ([`super::io`]);
//! - kernel time `= max(compute, memory) x tail factor` ([`super::waves`]: blocks in the kernel's
//!   launch order, [`super::kernels::LaunchOrder`]).
//!
//! Estimation phase: `tensor / tensor_flops + vector / vector_flops` against `bytes / hbm_bandwidth`,
//! derated in `predicted_s` by the preset's `[kernels.estimation]` (compute and memory efficiency).
//!
//! Two times per row:
//! - `roofline_s`: the datasheet ceilings at 100%, no per-block overhead: what the card allows;
//! - `predicted_s`: the sustained ceilings (measured ones when the preset is calibrated) times the
//!   kernel's efficiency (`[measured.kernels.NAME]`, else `[kernels.NAME]`, else the documented
//!   default), plus the kernel's per-block overhead: what the implementation should take.
//!
//! Per-block overhead: a thread block of `t > 0` executed tiles costs `t + o` tile-times, where
//! `o` (`block_overhead_tiles`) is the fixed cost of the block (Q tile load, epilogue:
//! normalisation, O and LSE store, pipeline fill) in units of one key tile's time. The compute time
//! is scaled by `sum (t_b + o) / sum t_b` and the wave schedule runs the blocks at `t_b + o`, so
//! `o` weighs most on short runs and on sparse blocks. `o` is the preset's measured value
//! (`[measured.kernels.NAME] block_overhead_tiles`, `causal_block_overhead_tiles`) when present,
//! else the kernel model's constant ([`super::kernels`]). `sparselab calibrate` measures it with
//! [`super::calibration::fit_dense`]: for a dense kernel, compute-bound,
//! `time(L) = c(L) / e x makespan(L, o)`, where `c(L)` is one tile-time at efficiency 1 and
//! `makespan` the longest slot's load in tile-times (blocks of `t_b + o` tiles in launch order);
//! `e` from the long run, `o` from the short one, alternated until both lengths are reproduced.

use super::hardware::{Ceilings, GpuPreset, ResolvedEfficiency};
use super::io::{traffic, Traffic};
use super::kernels::{KernelSpec, LaunchOrder};
use super::waves::{schedule, schedule_in_order, WaveSchedule};
use super::work::{AttentionWork, BlockWork};
use crate::error::Result;

/// Vector FLOPs per score element (scale-and-subtract FMA = 2, row max, row sum).
pub const VECTOR_FLOPS_PER_SCORE: f64 = 4.0;
/// Name under which presets list the efficiency of estimation kernels.
pub const ESTIMATION_KERNEL: &str = "estimation";

/// Which ceiling limits a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Tensor, SFU or vector units.
    Compute,
    /// HBM or L2 bandwidth.
    Memory,
}

impl Bound {
    /// `compute` or `memory`.
    pub fn name(self) -> &'static str {
        match self {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
        }
    }
}

/// FLOPs and exp counts of the kernel phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelCounts {
    /// Tensor-core FLOPs.
    pub tensor_flops: f64,
    /// exp evaluations.
    pub exp_ops: f64,
    /// fp32 vector FLOPs.
    pub vector_flops: f64,
}

/// Counts of `work` (see the module docs for the formulas).
pub fn kernel_counts(work: &AttentionWork) -> KernelCounts {
    let t = work.executed_tiles() as f64;
    let (tq, tk) = (work.tile.q as f64, work.tile.k as f64);
    let d = work.shape.head_dim as f64;
    let rows = work.shape.heads as f64 * work.shape.seq_len as f64;
    KernelCounts {
        tensor_flops: t * tq * tk * 4.0 * d,
        exp_ops: t * tq * tk + t * tq,
        vector_flops: t * (VECTOR_FLOPS_PER_SCORE * tq * tk + tq * d) + rows * d,
    }
}

/// Time of one phase and what limits it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhaseTime {
    /// Compute time, seconds (before the tail factor).
    pub compute_s: f64,
    /// Memory time, seconds (before the tail factor).
    pub memory_s: f64,
    /// Tail factor of the wave schedule (1 for the estimation phase).
    pub tail_factor: f64,
    /// The phase's time, seconds.
    pub time_s: f64,
    /// `tensor`, `sfu`, `vector`, `hbm` or `l2` (`none` for an empty phase).
    pub limiter: &'static str,
}

impl PhaseTime {
    /// Compute or memory, whichever is longer.
    pub fn bound(&self) -> Bound {
        if self.compute_s >= self.memory_s {
            Bound::Compute
        } else {
            Bound::Memory
        }
    }
}

/// The prediction of one attention call.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Kernel name.
    pub kernel: &'static str,
    /// Executed pairs over dense pairs.
    pub density: f64,
    /// Executed tiles (key tiles plus gathered-column tiles).
    pub executed_tiles: u64,
    /// Kernel counts.
    pub counts: KernelCounts,
    /// Kernel traffic.
    pub traffic: Traffic,
    /// All FLOPs: kernel tensor FLOPs plus estimation FLOPs.
    pub flops: f64,
    /// All HBM bytes: kernel plus estimation.
    pub bytes: f64,
    /// `flops / bytes`, FLOP per HBM byte.
    pub intensity: f64,
    /// The kernel's schedule (ideal: no per-block overhead).
    pub waves: WaveSchedule,
    /// Blocks resident per SM.
    pub blocks_per_sm: u64,
    /// Ideal ceilings: estimation phase.
    pub roofline_estimation: PhaseTime,
    /// Ideal ceilings: kernel phase.
    pub roofline_kernel: PhaseTime,
    /// Sustained ceilings x efficiency: estimation phase.
    pub predicted_estimation: PhaseTime,
    /// Sustained ceilings x efficiency: kernel phase.
    pub predicted_kernel: PhaseTime,
    /// Kernel launches (estimation plus attention).
    pub launches: u64,
    /// Ideal time, seconds.
    pub roofline_s: f64,
    /// Predicted time, seconds.
    pub predicted_s: f64,
    /// The kernel's tensor efficiency used for `predicted_s`.
    pub efficiency: f64,
    /// Where it came from: `measured`, `preset` or `default`.
    pub efficiency_source: &'static str,
    /// Per-block overhead used for `predicted_s`, in key tiles.
    pub block_overhead_tiles: f64,
}

impl Prediction {
    /// What limits the predicted time: the bound of the longer phase.
    pub fn bound(&self) -> Bound {
        if self.predicted_estimation.time_s > self.predicted_kernel.time_s {
            self.predicted_estimation.bound()
        } else {
            self.predicted_kernel.bound()
        }
    }

    /// The limiting unit of the longer phase.
    pub fn limiter(&self) -> &'static str {
        if self.predicted_estimation.time_s > self.predicted_kernel.time_s {
            self.predicted_estimation.limiter
        } else {
            self.predicted_kernel.limiter
        }
    }
}

fn largest(terms: &[(&'static str, f64)]) -> (&'static str, f64) {
    terms
        .iter()
        .copied()
        .filter(|t| t.1 > 0.0)
        .fold(("none", 0.0), |a, b| if b.1 > a.1 { b } else { a })
}

/// Efficiencies of one evaluation: compute and memory fractions, and per-block overhead in tiles.
#[derive(Debug, Clone, Copy)]
struct Derating {
    tensor: f64,
    memory: f64,
    estimation: f64,
    estimation_memory: f64,
    block_overhead_tiles: f64,
}

/// Time of one block in tile-times: its tiles plus the overhead (an empty block takes none).
fn block_time(work: &AttentionWork, b: &BlockWork, overhead: f64) -> f64 {
    let tiles = (b.key_tiles + work.gather_tiles(b)) as f64;
    if tiles > 0.0 {
        tiles + overhead
    } else {
        0.0
    }
}

fn kernel_phase(
    work: &AttentionWork,
    c: &KernelCounts,
    t: &Traffic,
    ceil: &Ceilings,
    d: Derating,
    slots: u64,
    order: LaunchOrder,
) -> (PhaseTime, WaveSchedule) {
    let o = d.block_overhead_tiles;
    let groups: Vec<(f64, u64)> = work.blocks.iter().map(|b| (block_time(work, b, o), b.count)).collect();
    let in_grid_order = match order {
        LaunchOrder::HeadByHead => work.head_by_head(),
        LaunchOrder::LongestFirst => None,
    };
    let waves = match in_grid_order {
        Some(blocks) => {
            let works: Vec<f64> = blocks.iter().map(|b| block_time(work, b, o)).collect();
            schedule_in_order(&works, slots)
        }
        None => schedule(&groups, slots),
    };
    let tiles = work.executed_tiles() as f64;
    let with_overhead: f64 = groups.iter().map(|(w, n)| w * *n as f64).sum();
    let work_scale = if tiles > 0.0 { with_overhead / tiles } else { 1.0 };
    let (climit, compute) = largest(&[
        ("tensor", c.tensor_flops / (ceil.tensor_flops * d.tensor)),
        ("sfu", c.exp_ops / (ceil.sfu_ops * d.tensor)),
        ("vector", c.vector_flops / (ceil.vector_flops * d.tensor)),
    ]);
    let (mlimit, memory) = largest(&[
        ("hbm", t.hbm_bytes / (ceil.hbm_bandwidth * d.memory)),
        ("l2", t.l2_bytes / (ceil.l2_bandwidth * d.memory)),
    ]);
    let compute = compute * work_scale;
    let phase = PhaseTime {
        compute_s: compute,
        memory_s: memory,
        tail_factor: waves.tail_factor,
        time_s: compute.max(memory) * waves.tail_factor,
        limiter: if compute >= memory { climit } else { mlimit },
    };
    (phase, waves)
}

fn estimation_phase(work: &AttentionWork, ceil: &Ceilings, d: Derating) -> PhaseTime {
    let e = &work.estimation;
    let tensor = e.tensor_flops / (ceil.tensor_flops * d.estimation);
    let vector = e.vector_flops / (ceil.vector_flops * d.estimation);
    let memory = e.bytes / (ceil.hbm_bandwidth * d.estimation_memory);
    let compute = tensor + vector;
    PhaseTime {
        compute_s: compute,
        memory_s: memory,
        tail_factor: 1.0,
        time_s: compute.max(memory),
        limiter: if compute == 0.0 && memory == 0.0 {
            "none"
        } else if compute >= memory {
            if tensor >= vector {
                "tensor"
            } else {
                "vector"
            }
        } else {
            "hbm"
        },
    }
}

/// Predicts `work` run by `kernel` on `preset` (see the module docs).
pub fn predict(preset: &GpuPreset, work: &AttentionWork, kernel: &KernelSpec) -> Result<Prediction> {
    let eff = preset.efficiency(kernel.name, work.shape.causal);
    predict_with(preset, work, kernel, &eff)
}

/// [`predict`] with the kernel's efficiency and per-block overhead given instead of read from the
/// preset (what calibration solves for); `eff.block_overhead_tiles = None` takes the kernel's constant.
pub fn predict_with(
    preset: &GpuPreset,
    work: &AttentionWork,
    kernel: &KernelSpec,
    eff: &ResolvedEfficiency,
) -> Result<Prediction> {
    work.validate()?;
    let kernel = kernel.with_tile(work.tile);
    let blocks_per_sm = kernel.blocks_per_sm(&work.shape, preset);
    let slots = preset.sms * blocks_per_sm;
    let counts = kernel_counts(work);
    let traffic = traffic(work, slots, preset.l2_bytes);
    let est = preset.efficiency(ESTIMATION_KERNEL, false);
    let block_overhead_tiles = eff.block_overhead_tiles.unwrap_or(kernel.block_overhead_tiles);
    let ideal = Derating {
        tensor: 1.0,
        memory: 1.0,
        estimation: 1.0,
        estimation_memory: 1.0,
        block_overhead_tiles: 0.0,
    };
    let real = Derating {
        tensor: eff.tensor,
        memory: eff.memory,
        estimation: est.tensor,
        estimation_memory: est.memory,
        block_overhead_tiles,
    };
    let order = kernel.launch_order;
    let (roofline_kernel, waves) = kernel_phase(work, &counts, &traffic, &preset.datasheet(), ideal, slots, order);
    let (predicted_kernel, _) = kernel_phase(work, &counts, &traffic, &preset.sustained(), real, slots, order);
    let roofline_estimation = estimation_phase(work, &preset.datasheet(), ideal);
    let predicted_estimation = estimation_phase(work, &preset.sustained(), real);
    let launches = 1 + work.estimation.launches;
    let launch_s = launches as f64 * preset.launch_overhead_s;
    let flops = counts.tensor_flops + work.estimation.tensor_flops + work.estimation.vector_flops;
    let bytes = traffic.hbm_bytes + work.estimation.bytes;
    Ok(Prediction {
        kernel: kernel.name,
        density: work.density(),
        executed_tiles: work.executed_tiles(),
        counts,
        traffic,
        flops,
        bytes,
        intensity: flops / bytes,
        waves,
        blocks_per_sm,
        roofline_s: roofline_estimation.time_s + roofline_kernel.time_s + launch_s,
        predicted_s: predicted_estimation.time_s + predicted_kernel.time_s + launch_s,
        roofline_estimation,
        roofline_kernel,
        predicted_estimation,
        predicted_kernel,
        launches,
        efficiency: eff.tensor,
        efficiency_source: eff.source,
        block_overhead_tiles,
    })
}

#[cfg(test)]
mod tests {
    use super::super::families;
    use super::super::scale::Scale;
    use super::super::work::tests::shape;
    use super::super::work::{AttentionShape, TileShape};
    use super::*;

    #[test]
    fn flops_by_hand() {
        // L=256, D=64, 64x64 tiles, causal: 10 tiles x 64 x 64 x 4 x 64 = 10 485 760 tensor FLOPs
        // (the convention 4 L^2 D / 2 gives 8 388 608: whole diagonal tiles cost 25% more here).
        let w = AttentionWork::dense(shape(256, 64, true), TileShape { q: 64, k: 64 });
        let c = kernel_counts(&w);
        assert_eq!(c.tensor_flops, 10_485_760.0);
        assert_eq!(w.shape.conventional_dense_flops(), 8_388_608.0);
        assert_eq!(c.exp_ops, 10.0 * 4096.0 + 10.0 * 64.0);
        assert_eq!(c.vector_flops, 10.0 * (4.0 * 4096.0 + 64.0 * 64.0) + 256.0 * 64.0);
        // Block-sparse: 2 of the 4 query tiles keep one key tile each -> 2 tiles.
        let bs = families::block_topk(shape(256, 64, true), 1, 64).unwrap();
        assert_eq!(kernel_counts(&bs).tensor_flops, 4.0 * 64.0 * 64.0 * 4.0 * 64.0);
    }

    fn long_shape(l: u64, causal: bool) -> AttentionShape {
        AttentionShape {
            seq_len: l,
            heads: 32,
            kv_heads: 8,
            head_dim: 128,
            causal,
            dtype_bytes: 2,
        }
    }

    #[test]
    fn dense_is_compute_bound_and_predicted_is_slower_than_roofline() {
        let h100 = GpuPreset::load("h100").unwrap();
        let fa2 = KernelSpec::by_name("fa2").unwrap();
        let w = families::dense(long_shape(16384, false), fa2.tile).unwrap();
        let p = predict(&h100, &w, &fa2).unwrap();
        assert_eq!(p.bound(), Bound::Compute);
        assert!(
            p.predicted_s > p.roofline_s * 2.0,
            "{} vs {}",
            p.predicted_s,
            p.roofline_s
        );
        // Predicted FLOP rate near the preset's efficiency x peak (352 TFLOP/s on the H100).
        let rate = w.shape.conventional_dense_flops() / p.predicted_s / 1e12;
        assert!((300.0..360.0).contains(&rate), "{rate}");
        assert_eq!(p.efficiency_source, "preset");
    }

    #[test]
    fn bound_switches_with_scale() {
        // A-shape at 128k is thin (a few tiles per query tile): with a tiny HBM the kernel turns
        // memory bound; give it 1000x the bandwidth and it is compute bound again.
        let mi = KernelSpec::by_name("minference").unwrap();
        let w = families::a_shape(long_shape(131072, true), mi.tile, 128, 3968).unwrap();
        let mut slow = GpuPreset::load("h100").unwrap();
        Scale::parse("bandwidth=0.001").unwrap().apply(&mut slow);
        Scale::parse("l2_bandwidth=0.001").unwrap().apply(&mut slow);
        let p = predict(&slow, &w, &mi).unwrap();
        assert_eq!(p.bound(), Bound::Memory, "{p:?}");
        Scale::parse("bandwidth=1000").unwrap().apply(&mut slow);
        Scale::parse("l2_bandwidth=1000").unwrap().apply(&mut slow);
        let p2 = predict(&slow, &w, &mi).unwrap();
        assert_eq!(p2.bound(), Bound::Compute);
        assert!(p2.predicted_s < p.predicted_s);
        // Doubling FLOP/s halves the compute time; dense FlashAttention-2 tiles (128 rows: 128
        // FLOP per L2 byte) then hit the L2 ceiling (7 TB/s x 128 < 2 x 989 TFLOP/s): memory bound.
        let h100 = GpuPreset::load("h100").unwrap();
        let mut fast = h100.clone();
        Scale::parse("flops=2").unwrap().apply(&mut fast);
        let fa2 = KernelSpec::by_name("fa2").unwrap();
        let dense = families::dense(long_shape(32768, true), fa2.tile).unwrap();
        let (a, b) = (
            predict(&h100, &dense, &fa2).unwrap(),
            predict(&fast, &dense, &fa2).unwrap(),
        );
        assert!((a.roofline_kernel.compute_s / b.roofline_kernel.compute_s - 2.0).abs() < 1e-9);
        assert_eq!(a.predicted_kernel.bound(), Bound::Compute);
        assert_eq!(b.roofline_kernel.bound(), Bound::Memory);
        assert_eq!(b.roofline_kernel.limiter, "l2");
    }

    #[test]
    fn estimation_and_launches_add_up() {
        let h100 = GpuPreset::load("h100").unwrap();
        let mi = KernelSpec::by_name("minference").unwrap();
        let w = families::vertical_slash(long_shape(65536, true), mi.tile, 1000, 6096, 0.0).unwrap();
        let p = predict(&h100, &w, &mi).unwrap();
        assert_eq!(p.launches, 4);
        let sum = p.predicted_estimation.time_s + p.predicted_kernel.time_s + 4.0 * h100.launch_overhead_s;
        assert!((p.predicted_s - sum).abs() < 1e-15);
        assert!(p.predicted_estimation.time_s > 0.0);
        // REFERENCE §1: density 19.4% at 65536 (executed 64x64 tiles over causal pairs).
        assert!((0.17..0.22).contains(&p.density), "{}", p.density);
    }
}
