//! Results of a training step: one row per layer and pass, and totals.

use super::compute::Dataflow;
use super::effects::Effects;
use super::energy::{AccessCounts, EnergyBreakdown, EnergyTable};
use super::gemm::{Gemm, NmRatio};
use super::sim::GemmRun;
use std::fmt;

/// A pass of the training step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pass {
    /// `Y = W_s X` (or `C = A B` between activations).
    Forward,
    /// `dX = W_s'^T dY`, weights pruned along the output dimension.
    BackwardData,
    /// `dW = dY X^T`, dense.
    WeightGradient,
    /// Gradient of the first operand of an activation GEMM (`dA = dC B^T`).
    BackwardA,
    /// Gradient of the second operand of an activation GEMM (`dB = A^T dC`).
    BackwardB,
    /// Optimizer update of the layer's weights.
    Update,
    /// Exposed cycles and traffic of the N:M pruning engine.
    Prune,
}

impl Pass {
    /// Every pass, in report order.
    pub const ALL: [Pass; 7] = [
        Pass::Forward,
        Pass::BackwardData,
        Pass::WeightGradient,
        Pass::BackwardA,
        Pass::BackwardB,
        Pass::Update,
        Pass::Prune,
    ];

    /// Short name for tables and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "fwd",
            Pass::BackwardData => "bwd_data",
            Pass::WeightGradient => "wgrad",
            Pass::BackwardA => "bwd_a",
            Pass::BackwardB => "bwd_b",
            Pass::Update => "update",
            Pass::Prune => "prune",
        }
    }
}

impl fmt::Display for Pass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One layer's pass.
#[derive(Debug, Clone, PartialEq)]
pub struct PassRow {
    /// Layer name.
    pub layer: String,
    /// Which pass.
    pub pass: Pass,
    /// The GEMM, for array passes.
    pub gemm: Option<Gemm>,
    /// The dataflow the schedule chose, for array passes.
    pub dataflow: Option<Dataflow>,
    /// Whether the pass shared the array tile by tile with the layer's other backward GEMM.
    pub interleaved: bool,
    /// Cycles the pass adds to the step.
    pub cycles: f64,
    /// Cycles the array computed.
    pub compute_cycles: u64,
    /// Cycles spent waiting (DRAM, pruning engine).
    pub stall_cycles: f64,
    /// SCALE-Sim's mapping efficiency of the pass's folds.
    pub mapping_efficiency: f64,
    /// What the pass touched.
    pub counts: AccessCounts,
}

impl PassRow {
    /// The row of a simulated GEMM.
    pub fn from_gemm(layer: &str, pass: Pass, gemm: &Gemm, run: &GemmRun, interleaved: bool) -> Self {
        PassRow {
            layer: layer.to_string(),
            pass,
            gemm: Some(*gemm),
            dataflow: Some(run.tiling.dataflow),
            interleaved,
            cycles: run.cycles,
            compute_cycles: run.compute_cycles,
            stall_cycles: run.stall_cycles,
            mapping_efficiency: run.mapping_efficiency,
            counts: run.counts,
        }
    }

    /// Share of the array's MAC slots used: performed MACs over PEs x cycles.
    pub fn utilization(&self, pes: u64) -> f64 {
        if self.cycles <= 0.0 {
            0.0
        } else {
            self.counts.macs as f64 / (pes as f64 * self.cycles)
        }
    }
}

/// Totals over a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Cycles.
    pub cycles: f64,
    /// Array compute cycles.
    pub compute_cycles: u64,
    /// Stall cycles.
    pub stall_cycles: f64,
    /// Access counts.
    pub counts: AccessCounts,
}

impl Totals {
    /// Sums `rows`.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a PassRow>) -> Self {
        let mut t = Totals::default();
        for r in rows {
            t.cycles += r.cycles;
            t.compute_cycles += r.compute_cycles;
            t.stall_cycles += r.stall_cycles;
            t.counts.add(&r.counts);
        }
        t
    }

    /// Utilization over `pes` PEs.
    pub fn utilization(&self, pes: u64) -> f64 {
        if self.cycles <= 0.0 {
            0.0
        } else {
            self.counts.macs as f64 / (pes as f64 * self.cycles)
        }
    }

    /// Energy under `table`.
    pub fn energy(&self, table: &EnergyTable) -> EnergyBreakdown {
        table.energy_pj(&self.counts)
    }
}

/// One simulated training step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// Model name.
    pub model: String,
    /// Sparsity of the weights (`None`: dense training).
    pub nm: Option<NmRatio>,
    /// Effects modeled.
    pub effects: Effects,
    /// Per layer and pass, in execution order (pruning rows last).
    pub rows: Vec<PassRow>,
}

impl StepResult {
    /// Cycles of the whole step.
    pub fn total_cycles(&self) -> f64 {
        self.rows.iter().map(|r| r.cycles).sum()
    }

    /// Totals of the whole step.
    pub fn total(&self) -> Totals {
        Totals::of(&self.rows)
    }

    /// Totals of one pass over all layers.
    pub fn pass_total(&self, pass: Pass) -> Totals {
        Totals::of(self.rows.iter().filter(|r| r.pass == pass))
    }

    /// `dense`, `2:8`, ...
    pub fn nm_label(&self) -> String {
        self.nm.map_or_else(|| "dense".to_string(), |nm| nm.to_string())
    }
}
