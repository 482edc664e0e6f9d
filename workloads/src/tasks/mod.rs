//! Task workloads with ground truth: attention that must retrieve something, so a
//! sparse mask's loss shows up as wrong answers, not only as lost attention mass.
//!
//! | module | task |
//! |---|---|
//! | [`mqar`] | Zoology's multi-query associative recall token sequences |
//! | [`mqar_solver`] | the attention head that solves MQAR by construction, and its scoring |
//! | [`niah`] | RULER-style needles (single, multi-key, multi-value, multi-query) planted into any workload |
//! | [`embeddings`] | random unit token embeddings and nearest-token decoding |
//!
//! A task builds a [`crate::Workload`], names the output rows it reads
//! ([`Probe`]s), and scores the attention outputs at those rows. Running attention
//! (dense or under a mask) is the caller's job, so this crate stays below the kernels.

pub mod embeddings;
pub mod mqar;
pub mod mqar_solver;
pub mod niah;

pub use embeddings::Codebook;
pub use mqar::{MqarConfig, MqarExample, MqarQuery};
pub use mqar_solver::{MqarScore, MqarSolver, MqarTask};
pub use niah::{NiahScore, NiahSpec, NiahTask, NiahVariant};

/// One output row a task reads: query row `row` of head `head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Probe {
    /// Query head.
    pub head: usize,
    /// Query position.
    pub row: usize,
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
