//! Experiments shared by several subcommands.

pub mod gpu_timing;
pub mod recall;
pub mod speed;
pub mod table;
pub mod tasks;
