//! Sparse-attention masks, selection methods and the CPU reference.
//!
//! | module | what it provides |
//! |---|---|
//! | [`mask`] | the formats kernels execute: dense, block-sparse, vertical-slash (MInference's format), streaming, N:M, per-row key lists; density after tile rounding |
//! | [`method`] | selection policies from the papers behind one [`Method`] trait, parsed from `name:key=value` strings |
//! | [`reference`] | CPU attention under any mask (f32/f64, online softmax, rayon): output, log-sum-exp, kept keys |
//! | [`cuda`] | GPU attention kernels (CUDA C++ compiled at run time with NVRTC, launched through cudarc); a clear error where no GPU is present |
//! | [`metrics`] | attention-mass recall, output error, density |
//!
//! Data flows one way: workload -> method -> mask -> executor -> metrics.

pub mod cuda;
pub mod error;
pub mod mask;
pub mod method;
pub mod metrics;
pub mod reference;

pub use error::{KernelError, Result};
pub use mask::{Mask, MaskFormat};
pub use method::{Method, Selection, SelectionContext};
