//! Workloads for sparselab: the Q, K and V that sparse-attention methods are
//! measured on.
//!
//! | module | what it provides |
//! |---|---|
//! | [`tasks`] | task workloads with ground truth: MQAR (Zoology) and needle in a haystack (RULER-style) |
//! | [`tensor`] | `[heads, seq, dim]` f32 tensors ([`HeadTensor`]) |
//! | [`workload`] | [`Workload`]: checked Q/K/V with a GQA head map |
//! | [`rng`] | [`SeededRng`]: ChaCha8 streams identical on every machine |
//! | [`io`] | Q/K/V from and to `.safetensors` and `.npy` files (f32, f16, bf16; GQA; batch folded into heads) |
//! | [`synthetic`] | Q/K/V with planted attention structure (sinks, windows, verticals, slashes, blocks) from named head profiles |
//!
//! Every constructor validates its input and returns [`WorkloadError`] naming the
//! offending tensor or parameter.

pub mod error;
pub mod io;
pub mod rng;
pub mod synthetic;
pub mod tasks;
pub mod tensor;
pub mod workload;

pub use error::{Result, WorkloadError};
pub use rng::SeededRng;
pub use tensor::HeadTensor;
pub use workload::Workload;
