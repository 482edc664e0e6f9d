//! Cost models of sparse attention and sparse training hardware.
//!
//! | module | what it models |
//! |---|---|
//! | [`accelerator`] | a cycle-level N:M sparse training accelerator (SAT/BDWP style): systolic array (OS/WS), buffers, DRAM stalls, pruning engine, energy; dense mode matches SCALE-Sim cycle for cycle |
//! | [`roofline`] | sparse attention on a GPU (A100, H100, H200 or a user's TOML): FLOPs, bytes, waves, estimation, predicted time and bound |
//!
//! Every model reads its hardware from TOML presets under `simulators/presets/`.

pub mod accelerator;
pub mod error;
pub mod preset_file;
pub mod roofline;

pub use error::{Result, SimulatorError};
