//! Sparse-attention methods as index-selection policies.
//!
//! A [`Method`] looks at a workload (and, for oracles, at the true attention
//! from the shared dense pass) and returns a [`Selection`]: the [`Mask`] a
//! kernel would execute and the cost of its own estimation, which is part of
//! the time a user pays. Methods are built from strings such as
//! `vertical-slash:v=1000,s=6096` by [`registry::parse_method`].

mod a_shape;
mod block_topk;
mod checks;
mod cost;
mod dense;
mod flexprefill;
mod oracle_blocks;
mod oracle_keys;
pub mod params;
pub mod registry;
mod scoring;
mod topk;
mod vertical_slash;
mod xattention;

pub use a_shape::AShape;
pub use block_topk::BlockTopK;
pub use dense::Dense;
pub use flexprefill::{FlexPrefill, HeadPattern};
pub use oracle_blocks::OracleBlocks;
pub use oracle_keys::OracleKeys;
pub use params::{MethodSpec, Params};
pub use registry::{all_default_methods, method_catalog, parse_method, parse_methods, MethodEntry};
pub use vertical_slash::{VerticalSlash, FORCED_COLUMNS, FORCED_DIAGONALS, LAST_QUERIES};
pub use xattention::XAttention;

use crate::error::Result;
use crate::mask::Mask;
use crate::reference::AttentionOutput;
use sparselab_workloads::Workload;

/// FLOPs and bytes a method spends choosing its mask (estimation and index
/// building), counted as a GPU implementation would perform them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EstimationCost {
    /// Floating-point operations (a multiply-add counts 2).
    pub flops: f64,
    /// Bytes read from and written to device memory.
    pub bytes: f64,
}

impl std::ops::Add for EstimationCost {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            flops: self.flops + o.flops,
            bytes: self.bytes + o.bytes,
        }
    }
}

/// What a method returns.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The mask a kernel executes.
    pub mask: Mask,
    /// Cost of producing it.
    pub estimation: EstimationCost,
}

/// Everything a method may look at.
#[derive(Clone, Copy)]
pub struct SelectionContext<'a> {
    /// Q, K, V.
    pub workload: &'a Workload,
    /// Causal (prefill) or full attention.
    pub causal: bool,
    /// The dense reference pass with per-block log-sum-exp, when the caller
    /// computed it; only oracle methods need it.
    pub dense: Option<&'a AttentionOutput>,
}

/// A selection policy from the literature.
pub trait Method: Send + Sync + std::fmt::Debug {
    /// Registered name, e.g. `vertical-slash`.
    fn name(&self) -> &'static str;
    /// Canonical parameters, e.g. `v=1000,s=6096` (empty for none).
    fn params(&self) -> String;
    /// The parameters a selection on `seq_len` tokens actually uses: catalog
    /// defaults that exceed the sequence are capped to it, and tables must say so.
    fn effective_params(&self, seq_len: usize) -> String {
        let _ = seq_len;
        self.params()
    }
    /// Chooses the mask for `ctx.workload`. Errors when a budget does not fit the
    /// sequence or a needed input (such as the dense pass for oracles) is missing.
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection>;
    /// Whether [`Method::select`] needs `ctx.dense`.
    fn needs_dense_reference(&self) -> bool {
        false
    }
    /// `name:params`, the label used in tables.
    fn label(&self) -> String {
        let p = self.params();
        if p.is_empty() {
            self.name().to_string()
        } else {
            format!("{}:{}", self.name(), p)
        }
    }
}
