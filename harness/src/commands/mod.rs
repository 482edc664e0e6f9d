//! One module per subcommand: a clap `Args` struct and a `run` function.

pub mod bench;
pub mod calibrate;
pub mod compare;
pub mod merge;
pub mod methods;
pub mod recall;
pub mod reproduce;
pub mod roofline;
pub mod run;
pub mod simulate;
pub mod sweep;
pub mod tasks;
pub mod workloads;
