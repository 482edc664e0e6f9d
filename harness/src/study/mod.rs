//! Experiments shared by several subcommands.

pub mod recall;
