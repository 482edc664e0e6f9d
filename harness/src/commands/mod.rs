//! One module per subcommand: a clap `Args` struct and a `run` function.

pub mod bench;
pub mod recall;
pub mod run;
pub mod tasks;
pub mod workloads;
