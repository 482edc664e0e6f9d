//! The BDWP training step: for every layer, forward (`W_s X`, N:M along the input dimension),
//! backward-data (`W_s'^T dY`, N:M along the output dimension), weight gradient (`dY X^T`,
//! dense) and the weight update, with the pruning engine producing next step's sparse weights.
//!
//! Order: forward passes first to last, then for each layer from last to first its
//! backward-data and weight-gradient GEMMs (interleaved on the array when the offline schedule
//! finds that faster) and its update. Pruning: with pre-generation the engine works in the
//! background from each layer's update until that layer's forward pass of the next step and
//! shows only when it is late; without, it prunes each sparse pass's weights on the critical
//! path (`lanes` groups of `M` weights per `M` cycles) after reading them dense from DRAM.

use super::config::AcceleratorConfig;
use super::effects::Effects;
use super::energy::AccessCounts;
use super::gemm::{Footprint, Gemm, NmRatio, OutputPrecision};
use super::models::{LayerOp, ModelSpec};
use super::pass::{Pass, PassRow, StepResult};
use super::sim::{simulate_gemm, simulate_interleaved, GemmRun};
use crate::error::Result;
use std::collections::HashMap;

/// Simulates training steps on one configuration, running each distinct GEMM (and each
/// interleaved pair) once across steps: ResNet and transformer blocks repeat shapes, and the
/// dense weight-gradient GEMMs are the same at every N:M ratio.
pub struct StepSimulator<'a> {
    config: &'a AcceleratorConfig,
    runs: HashMap<String, GemmRun>,
    pairs: HashMap<String, Option<(GemmRun, GemmRun)>>,
}

impl<'a> StepSimulator<'a> {
    /// A simulator with empty caches.
    pub fn new(config: &'a AcceleratorConfig) -> Self {
        Self {
            config,
            runs: HashMap::new(),
            pairs: HashMap::new(),
        }
    }

    /// Simulates one training step of `model` with weights `nm`-sparse (`None`: dense training).
    pub fn step(&mut self, model: &ModelSpec, nm: Option<NmRatio>, effects: &Effects) -> Result<StepResult> {
        let config = self.config;
        let mut rows = Vec::new();
        for layer in &model.layers {
            let g = forward_gemm(&layer.op, nm);
            let run = self.run(&g, effects)?;
            rows.push(PassRow::from_gemm(&layer.name, Pass::Forward, &g, &run, false));
        }
        for layer in model.layers.iter().rev() {
            let (g_data, g_weight, data_pass, weight_pass) = backward_gemms(&layer.op, nm);
            match &g_data {
                Some(gd) => {
                    let (rd, rw, interleaved) = self.backward_pair(gd, &g_weight, effects)?;
                    rows.push(PassRow::from_gemm(&layer.name, data_pass, gd, &rd, interleaved));
                    rows.push(PassRow::from_gemm(
                        &layer.name,
                        weight_pass,
                        &g_weight,
                        &rw,
                        interleaved,
                    ));
                }
                None => {
                    let rw = self.run(&g_weight, effects)?;
                    rows.push(PassRow::from_gemm(&layer.name, weight_pass, &g_weight, &rw, false));
                }
            }
            if layer.params() > 0 {
                rows.push(update_row(&layer.name, layer.params(), &layer.op, config, nm, effects));
            }
        }
        if let Some(nm) = nm {
            add_pruning(&mut rows, model, config, nm, effects);
        }
        Ok(StepResult {
            model: model.name.clone(),
            nm,
            effects: *effects,
            rows,
        })
    }

    /// Speedup of the `nm` step over the dense step under the same effects.
    pub fn speedup(&mut self, model: &ModelSpec, nm: NmRatio, effects: &Effects) -> Result<f64> {
        let dense = self.step(model, None, effects)?;
        let sparse = self.step(model, Some(nm), effects)?;
        Ok(dense.total_cycles() / sparse.total_cycles())
    }

    fn run(&mut self, g: &Gemm, effects: &Effects) -> Result<GemmRun> {
        let key = format!("{g:?}{effects:?}");
        if let Some(r) = self.runs.get(&key) {
            return Ok(*r);
        }
        let r = simulate_gemm(g, self.config, effects)?;
        self.runs.insert(key, r);
        Ok(r)
    }

    /// Runs a layer's two backward GEMMs one after the other or interleaved, whichever the
    /// offline schedule finds faster. Returns (first run, second run, interleaved).
    fn backward_pair(&mut self, first: &Gemm, second: &Gemm, effects: &Effects) -> Result<(GemmRun, GemmRun, bool)> {
        let a = self.run(first, effects)?;
        let b = self.run(second, effects)?;
        if self.config.schedule.interleave_passes {
            let key = format!("{first:?}{second:?}{effects:?}");
            let pair = match self.pairs.get(&key) {
                Some(p) => *p,
                None => {
                    // Interleaving halves each GEMM's buffers; a tile that no longer fits rules it out.
                    let p = simulate_interleaved(first, second, self.config, effects).ok();
                    self.pairs.insert(key, p);
                    p
                }
            };
            if let Some((ia, ib)) = pair {
                if ia.cycles + ib.cycles < a.cycles + b.cycles {
                    return Ok((ia, ib, true));
                }
            }
        }
        Ok((a, b, false))
    }
}

/// Simulates one training step of `model` with weights `nm`-sparse (`None`: dense training).
pub fn simulate_step(
    model: &ModelSpec,
    config: &AcceleratorConfig,
    nm: Option<NmRatio>,
    effects: &Effects,
) -> Result<StepResult> {
    StepSimulator::new(config).step(model, nm, effects)
}

/// Speedup of the `nm` step over the dense step on the same configuration and effects.
pub fn step_speedup(model: &ModelSpec, config: &AcceleratorConfig, nm: NmRatio, effects: &Effects) -> Result<f64> {
    StepSimulator::new(config).speedup(model, nm, effects)
}

fn forward_gemm(op: &LayerOp, nm: Option<NmRatio>) -> Gemm {
    match *op {
        LayerOp::Weighted {
            rows, k, n, footprint, ..
        } => Gemm {
            footprint: Footprint { a: footprint, c: 1.0 },
            ..Gemm::dense(rows, k, n).with_sparsity(nm)
        },
        LayerOp::ActAct { m, k, n, count } => Gemm {
            count,
            ..Gemm::dense(m, k, n)
        },
    }
}

/// (input-gradient GEMM if any, the other backward GEMM, their pass names).
fn backward_gemms(op: &LayerOp, nm: Option<NmRatio>) -> (Option<Gemm>, Gemm, Pass, Pass) {
    match *op {
        LayerOp::Weighted {
            rows,
            k,
            n,
            footprint,
            input_grad,
        } => {
            // dX[rows, k] = dY[rows, n] · W^T[n, k]: W pruned N:M along n (the other dimension).
            let data = input_grad.then(|| Gemm {
                footprint: Footprint { a: 1.0, c: footprint },
                ..Gemm::dense(rows, n, k).with_sparsity(nm)
            });
            // dW[k, n] = X^T[k, rows] · dY[rows, n]: dense, kept in fp32.
            let weight = Gemm {
                footprint: Footprint { a: footprint, c: 1.0 },
                output: OutputPrecision::Accumulator,
                ..Gemm::dense(k, rows, n)
            };
            (data, weight, Pass::BackwardData, Pass::WeightGradient)
        }
        LayerOp::ActAct { m, k, n, count } => {
            // dA[m, k] = dC[m, n] · B^T[n, k]; dB[k, n] = A^T[k, m] · dC[m, n].
            let da = Gemm {
                count,
                ..Gemm::dense(m, n, k)
            };
            let db = Gemm {
                count,
                ..Gemm::dense(k, m, n)
            };
            (Some(da), db, Pass::BackwardA, Pass::BackwardB)
        }
    }
}

/// The optimizer's update of `params` weights, and (sparse, pre-generated) the two pruned copies
/// written for the next step.
fn update_row(
    name: &str,
    params: u64,
    op: &LayerOp,
    config: &AcceleratorConfig,
    nm: Option<NmRatio>,
    effects: &Effects,
) -> PassRow {
    let a = &config.array;
    let u = &config.update;
    let bits = |b: u32| f64::from(b) / 8.0;
    let p = params as f64;
    // Read dW, master weights and optimizer state; write master weights and state back.
    let mut bytes =
        p * (bits(a.accumulator_bits) + 2.0 * bits(u.master_weight_bits) + 2.0 * bits(u.optimizer_state_bits));
    match (nm, op) {
        (Some(nm), LayerOp::Weighted { k, n, .. }) if config.pruning.pregenerate => {
            let meta = if effects.metadata { nm.metadata_bits() } else { 0 };
            let per_kept = bits(a.weight_bits + meta);
            let fwd_copy = (n * nm.kept(*k)) as f64;
            let bwd_copy = (k * nm.kept(*n)) as f64;
            bytes += (fwd_copy + bwd_copy) * per_kept;
        }
        // Dense training, or online pruning: write the dense working copy.
        _ => bytes += p * bits(a.weight_bits),
    }
    let bw = super::schedule::bandwidth(config, effects);
    let cycles = if effects.weight_update {
        (bytes / bw).max(params.div_ceil(u.lanes) as f64)
    } else {
        0.0
    };
    PassRow {
        layer: name.to_string(),
        pass: Pass::Update,
        gemm: None,
        dataflow: None,
        interleaved: false,
        cycles,
        compute_cycles: 0,
        stall_cycles: 0.0,
        mapping_efficiency: 0.0,
        counts: AccessCounts {
            dram_bytes: bytes,
            buffer_read_bytes: bytes,
            buffer_write_bytes: bytes,
            updated_params: params,
            ..AccessCounts::default()
        },
    }
}

/// Cycles the engine needs to prune `weights` weights along one dimension.
pub fn prune_cycles(weights: u64, nm: NmRatio, lanes: u64) -> u64 {
    let groups = weights.div_ceil(u64::from(nm.m));
    groups.div_ceil(lanes) * u64::from(nm.m)
}

/// Adds one `prune` row per weighted layer: the engine's exposed cycles and its traffic.
fn add_pruning(rows: &mut Vec<PassRow>, model: &ModelSpec, config: &AcceleratorConfig, nm: NmRatio, effects: &Effects) {
    let lanes = config.pruning.lanes;
    let weighted: Vec<(&str, u64)> = model
        .layers
        .iter()
        .filter(|l| l.params() > 0)
        .map(|l| (l.name.as_str(), l.params()))
        .collect();
    let mut exposed: HashMap<&str, f64> = HashMap::new();
    let mut extra_dram: HashMap<&str, f64> = HashMap::new();
    if config.pruning.pregenerate {
        // Jobs arrive as updates finish (last layer first) and queue on the one engine; job l
        // must finish before layer l's forward pass in the next step.
        let mut t = 0.0;
        let mut arrival = HashMap::new();
        let mut fwd_start = HashMap::new();
        for r in rows.iter() {
            if r.pass == Pass::Forward {
                fwd_start.entry(r.layer.as_str()).or_insert(t);
            }
            t += r.cycles;
            if r.pass == Pass::Update {
                arrival.insert(r.layer.as_str(), t);
            }
        }
        let step_end = t;
        let mut engine_free = 0.0f64;
        let mut worst: Option<(&str, f64)> = None;
        for (name, params) in weighted.iter().rev() {
            let start = engine_free.max(arrival.get(name).copied().unwrap_or(step_end));
            engine_free = start + 2.0 * prune_cycles(*params, nm, lanes) as f64;
            let deadline = step_end + fwd_start.get(name).copied().unwrap_or(0.0);
            let late = engine_free - deadline;
            if late > worst.map_or(0.0, |w| w.1) {
                worst = Some((name, late));
            }
        }
        if let Some((name, late)) = worst {
            exposed.insert(name, late);
        }
    } else {
        let bw = super::schedule::bandwidth(config, effects);
        let weight_bytes = f64::from(config.array.weight_bits) / 8.0;
        for r in rows
            .iter()
            .filter(|r| r.pass == Pass::Forward || r.pass == Pass::BackwardData)
        {
            if let Some((name, params)) = weighted.iter().find(|(n, _)| *n == r.layer) {
                let dense_read = *params as f64 * weight_bytes;
                let t = (prune_cycles(*params, nm, lanes) as f64).max(dense_read / bw);
                *exposed.entry(name).or_default() += t;
                *extra_dram.entry(name).or_default() += dense_read;
            }
        }
    }
    for (name, params) in weighted {
        let cycles = if effects.prune_latency {
            exposed.get(name).copied().unwrap_or(0.0)
        } else {
            0.0
        };
        let dram = extra_dram.get(name).copied().unwrap_or(0.0);
        rows.push(PassRow {
            layer: name.to_string(),
            pass: Pass::Prune,
            gemm: None,
            dataflow: None,
            interleaved: false,
            cycles,
            compute_cycles: 0,
            stall_cycles: cycles,
            mapping_efficiency: 0.0,
            counts: AccessCounts {
                dram_bytes: dram,
                buffer_write_bytes: dram,
                pruned_weights: 2 * params,
                ..AccessCounts::default()
            },
        });
    }
}
