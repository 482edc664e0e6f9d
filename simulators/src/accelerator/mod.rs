//! A cycle-level model of an N:M sparse training accelerator in the style of SAT with BDWP
//! (arXiv 2309.13015): an R x C systolic array whose PEs pick N of every M inputs by index
//! metadata, switchable between output- and weight-stationary dataflows, with double-buffered
//! on-chip buffers, a bandwidth-limited DRAM, an online N:M pruning engine and an optimizer unit.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | TOML presets (`vcu1525`, `asic128`) and validation |
//! | [`gemm`] | GEMM shapes and N:M ratios |
//! | [`compute`] | cycles of a GEMM on the array, one module per dataflow; equals SCALE-Sim in dense mode |
//! | [`memory`] | tiling, DRAM traffic, the double-buffered pipeline and its stalls |
//! | [`schedule`] | the offline scheduler: dataflow, tiles and loop order per GEMM |
//! | [`sim`] | one GEMM (or two interleaved) through schedule, compute and memory |
//! | [`models`] | ResNet-18/50, VGG-16, ViT-B/16, BERT-base layer as GEMM lists |
//! | [`training`] | the BDWP training step: forward, backward-data, weight gradient, update, pruning |
//! | [`pass`] | per-pass rows and totals |
//! | [`effects`] | the effects an ablation switches off |
//! | [`energy`] | per-access energy table and estimate |
//! | [`attention`] | attention's QK^T and PV under a `kernels` mask |
//!
//! Cycle counts are computed per fold and per tile in closed form; nothing is materialized per
//! cycle, which is why it runs millions of times faster than SCALE-Sim.

pub mod attention;
pub mod compute;
pub mod config;
pub mod effects;
pub mod energy;
pub mod gemm;
pub mod memory;
pub mod models;
pub mod pass;
pub mod schedule;
pub mod sim;
pub mod training;

pub use compute::{ArrayShape, Dataflow};
pub use config::{AcceleratorConfig, DataflowPolicy, DEFAULT_PRESET};
pub use effects::{Effect, Effects};
pub use energy::{AccessCounts, EnergyBreakdown, EnergyTable};
pub use gemm::{Gemm, NmRatio};
pub use models::{ModelSpec, MODEL_NAMES};
pub use pass::{Pass, PassRow, StepResult, Totals};
pub use sim::{simulate_gemm, simulate_interleaved, GemmRun};
pub use training::{simulate_step, step_speedup, StepSimulator};
