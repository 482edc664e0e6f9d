//! Sparse-attention mask formats: what the kernels execute.
//!
//! | format | one entry per | kernel work counted as |
//! |---|---|---|
//! | [`DenseMask`] | layer | every (causal) tile of [`REFERENCE_TILE`] x [`REFERENCE_TILE`] |
//! | [`BlockSparseMask`] | head, query block | the selected key blocks, whole tiles |
//! | [`VerticalSlashMask`] | head | MInference's format: 64-key blocks covering the slashes plus vertical columns gathered 64 at a time |
//! | [`StreamingMask`] | layer | the tiles covering sink + local window (A-shape) |
//! | [`NmMask`] | head, query row | N of every M keys (hardware N:M sparsity) |
//! | [`KeyListMask`] | head, query row | exactly the listed keys (a gather kernel) |
//!
//! All formats answer the same questions through [`MaskFormat`]: which keys a
//! block of query rows loads ([`KeyPlan`]), which of those a row keeps, and how
//! many query-key pairs a kernel executes after rounding to its tiles. Density
//! is executed pairs over the causal pairs (or all pairs when not causal), so a
//! block format that rounds a thin pattern up to whole tiles pays for the tiles.

mod block_sparse;
mod dense;
mod key_list;
mod nm;
mod plan;
mod streaming;
mod vertical_slash;

pub use block_sparse::BlockSparseMask;
pub use dense::DenseMask;
pub use key_list::KeyListMask;
pub use nm::NmMask;
pub use plan::KeyPlan;
pub use streaming::StreamingMask;
pub use vertical_slash::{VerticalSlashMask, VS_BLOCK};

use crate::error::{KernelError, Result};

/// Query rows per block in executors and in the tile model of dense and streaming
/// kernels (64, as in MInference's and FlashAttention-2's kernels).
pub const REFERENCE_TILE: usize = 64;

/// What every mask format answers.
pub trait MaskFormat: Send + Sync {
    /// Number of query heads the mask covers.
    fn heads(&self) -> usize;
    /// Sequence length (queries = keys).
    fn seq_len(&self) -> usize;
    /// Whether keys after the query are excluded.
    fn causal(&self) -> bool;
    /// Fills `plan` with the distinct keys a kernel loads for query rows
    /// `row_start..row_end` of head `head`. `row_start` is a multiple of
    /// [`REFERENCE_TILE`] and the rows never cross a [`REFERENCE_TILE`] boundary.
    fn plan_rows(&self, head: usize, row_start: usize, row_end: usize, plan: &mut KeyPlan);
    /// Whether query `q` of head `head` keeps key `k`, given that `k` is in the
    /// plan of `q`'s row block. Includes the causal condition.
    fn keeps(&self, head: usize, q: usize, k: usize) -> bool;
    /// [`MaskFormat::keeps`] for every key of `keys` at once (`out[j]` for
    /// `keys[j]`); formats override it when a batch is cheaper than single calls.
    fn keep_row(&self, head: usize, q: usize, keys: &[u32], out: &mut [bool]) {
        for (o, &k) in out.iter_mut().zip(keys) {
            *o = self.keeps(head, q, k as usize);
        }
    }
    /// Query-key pairs a kernel executes for this mask, summed over heads, after
    /// rounding to the kernel's tiles (masked elements inside a tile count).
    fn executed_pairs(&self) -> u64;
}

/// Any of the mask formats.
#[derive(Debug, Clone)]
pub enum Mask {
    /// Full attention.
    Dense(DenseMask),
    /// Per head and query block, a sorted list of key blocks.
    BlockSparse(BlockSparseMask),
    /// Vertical columns and slash diagonals in MInference's kernel format.
    VerticalSlash(VerticalSlashMask),
    /// Sink plus local window (A-shape).
    Streaming(StreamingMask),
    /// N of every M keys per query.
    Nm(NmMask),
    /// A sorted list of keys per query.
    KeyList(KeyListMask),
}

macro_rules! each_format {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            Mask::Dense($m) => $e,
            Mask::BlockSparse($m) => $e,
            Mask::VerticalSlash($m) => $e,
            Mask::Streaming($m) => $e,
            Mask::Nm($m) => $e,
            Mask::KeyList($m) => $e,
        }
    };
}

impl MaskFormat for Mask {
    fn heads(&self) -> usize {
        each_format!(self, m => m.heads())
    }
    fn seq_len(&self) -> usize {
        each_format!(self, m => m.seq_len())
    }
    fn causal(&self) -> bool {
        each_format!(self, m => m.causal())
    }
    fn plan_rows(&self, head: usize, row_start: usize, row_end: usize, plan: &mut KeyPlan) {
        each_format!(self, m => m.plan_rows(head, row_start, row_end, plan))
    }
    fn keeps(&self, head: usize, q: usize, k: usize) -> bool {
        each_format!(self, m => m.keeps(head, q, k))
    }
    fn keep_row(&self, head: usize, q: usize, keys: &[u32], out: &mut [bool]) {
        each_format!(self, m => m.keep_row(head, q, keys, out))
    }
    fn executed_pairs(&self) -> u64 {
        each_format!(self, m => m.executed_pairs())
    }
}

impl Mask {
    /// Short name of the format, for tables.
    pub fn format_name(&self) -> &'static str {
        match self {
            Mask::Dense(_) => "dense",
            Mask::BlockSparse(_) => "block-sparse",
            Mask::VerticalSlash(_) => "vertical-slash",
            Mask::Streaming(_) => "streaming",
            Mask::Nm(_) => "n:m",
            Mask::KeyList(_) => "key-list",
        }
    }

    /// Executed pairs over the pairs dense attention computes (causal or full).
    /// Can exceed 1 slightly for block formats whose diagonal tiles are computed whole.
    pub fn density(&self) -> f64 {
        self.executed_pairs() as f64 / attended_pairs(self.heads(), self.seq_len(), self.causal()) as f64
    }

    /// Checks that the mask covers `heads` heads of `seq_len` tokens.
    pub fn check_fits(&self, heads: usize, seq_len: usize, causal: bool) -> Result<()> {
        if self.heads() != heads || self.seq_len() != seq_len || self.causal() != causal {
            return Err(KernelError::MaskMismatch {
                problem: format!(
                    "{} mask is for {} heads x {} tokens (causal: {}) but the workload has {} heads x {} tokens (causal: {})",
                    self.format_name(),
                    self.heads(),
                    self.seq_len(),
                    self.causal(),
                    heads,
                    seq_len,
                    causal
                ),
            });
        }
        Ok(())
    }

    /// Expands to a dense boolean mask `[heads, seq, seq]` (true = kept), for tests
    /// on small sizes.
    pub fn to_dense_bool(&self) -> Vec<bool> {
        let (h_n, l) = (self.heads(), self.seq_len());
        let mut out = vec![false; h_n * l * l];
        let mut plan = KeyPlan::default();
        let mut keys = Vec::new();
        for h in 0..h_n {
            for r0 in (0..l).step_by(REFERENCE_TILE) {
                let r1 = (r0 + REFERENCE_TILE).min(l);
                plan.clear();
                self.plan_rows(h, r0, r1, &mut plan);
                keys.clear();
                plan.keys_into(&mut keys);
                for q in r0..r1 {
                    for &k in &keys {
                        if self.keeps(h, q, k as usize) {
                            out[(h * l + q) * l + k as usize] = true;
                        }
                    }
                }
            }
        }
        out
    }

    /// Pairs the mask keeps (exact, not rounded to tiles), summed over heads.
    pub fn kept_pairs(&self) -> u64 {
        self.to_dense_bool_count()
    }

    fn to_dense_bool_count(&self) -> u64 {
        let l = self.seq_len();
        let mut plan = KeyPlan::default();
        let mut keys = Vec::new();
        let mut count = 0u64;
        for h in 0..self.heads() {
            for r0 in (0..l).step_by(REFERENCE_TILE) {
                let r1 = (r0 + REFERENCE_TILE).min(l);
                plan.clear();
                self.plan_rows(h, r0, r1, &mut plan);
                keys.clear();
                plan.keys_into(&mut keys);
                for q in r0..r1 {
                    count += keys.iter().filter(|&&k| self.keeps(h, q, k as usize)).count() as u64;
                }
            }
        }
        count
    }
}

/// Pairs dense attention computes for `heads` heads of `seq_len` tokens:
/// `L(L+1)/2` per head when causal, `L^2` otherwise.
pub fn attended_pairs(heads: usize, seq_len: usize, causal: bool) -> u64 {
    let l = seq_len as u64;
    let per_head = if causal { l * (l + 1) / 2 } else { l * l };
    heads as u64 * per_head
}

/// Number of blocks of `block` tokens covering `seq_len` tokens.
pub fn num_blocks(seq_len: usize, block: usize) -> usize {
    seq_len.div_ceil(block)
}

/// Tokens in block `b` of size `block` (the last one may be short).
pub fn block_len(seq_len: usize, block: usize, b: usize) -> usize {
    (seq_len - b * block).min(block)
}
