//! Synthetic Q/K/V with planted attention structure, from named head profiles.
//!
//! Each component is planted in its own dimensions, so a head's logit
//! `q_i . k_j / sqrt(d)` is exactly the sum of the terms below, each scaled by a
//! strength of the head's [`HeadProfile`] (in logits):
//!
//! | component | where | mechanism |
//! |---|---|---|
//! | sink | first 4 keys | a direction those keys and every query share |
//! | local window | offset `i - j` near 0 | rotary (RoPE-like) pairs: a smooth bump in the offset |
//! | slash | 3 offsets spread over the sequence (one near, two beyond a quarter) | the same rotary pairs: bumps at those offsets |
//! | vertical | one key per 256 tokens | a direction those keys and every query share |
//! | block | segments of about 1/32 of the sequence, 8 clusters | one-hot cluster direction in Q and K; clusters recur, so off-diagonal blocks exist |
//! | retrieval | 4-8 query positions, each with one key at least L/4 back | a unique direction per pair |
//! | noise | every pair | i.i.d. bell-shaped entries in dims of their own |
//!
//! | profile | what dominates |
//! |---|---|
//! | `streaming` | sink + local window (the A-shape keeps > 95% at 16k) |
//! | `vertical-slash` | verticals and far slashes plus sink and local (best 1000 columns + 6096 diagonals keep > 97% at 16k, the A-shape much less) |
//! | `block` | block clusters (the top 20% of 64x64 blocks keep > 90%) |
//! | `retrieval` | a few queries on one far key each, the rest sink + local with more noise |
//! | `mixed` | heads cycle through the four above |
//! | `llama-like` | heads drawn from the seed in the shares of [`LLAMA_LIKE_SHARES`] |
//!
//! Positions of the structure scale with the sequence length (see
//! [`KvHeadPlan`]) and are shared by the query heads of a GQA group, which
//! differ only in their noise (and profile, in `mixed` and `llama-like`).
//! Generation uses only IEEE-exact arithmetic on ChaCha8 streams, one per
//! (tensor, head, 1024 rows), so a seed gives bit-identical tensors on every
//! machine and for any number of threads.

mod generate;
mod layout;
mod plan;
mod positional;
mod profile;

pub use layout::{CLUSTERS, MIN_HEAD_DIM};
pub use plan::{KvHeadPlan, Segment, SINK_TOKENS};
pub use profile::{profile_names, HeadProfile, LLAMA_LIKE_SHARES};

use crate::error::{Result, WorkloadError};
use crate::rng::SeededRng;
use crate::tensor::HeadTensor;
use crate::workload::Workload;
use generate::{Generator, PLAN_STREAM};
use layout::Layout;
use positional::RotaryGrid;
use profile::ProfileSpec;

/// Longest sequence the generator accepts (its sine table grows with it).
pub const MAX_SEQ_LEN: usize = 1 << 24;

/// What to generate: a profile string (`name` or `name:key=value,...`, see
/// [`profile_names`] and [`HeadProfile`] for the keys), Q heads, KV heads
/// (dividing `heads`), sequence length, head dim (at least [`MIN_HEAD_DIM`])
/// and seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticSpec {
    /// Profile name with optional strength overrides, e.g. `vertical-slash:vertical=4,noise=0.5`.
    pub profile: String,
    /// Tokens (any length from 1 to [`MAX_SEQ_LEN`]).
    pub seq_len: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads; must divide `heads` (grouped-query attention).
    pub kv_heads: usize,
    /// Head dimension (64 and 128 are the usual ones).
    pub head_dim: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl SyntheticSpec {
    /// Checks sizes and the profile string.
    fn check(&self) -> Result<(ProfileSpec, Layout)> {
        let positive = [
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("seq_len", self.seq_len),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(WorkloadError::invalid(name, value, "must be at least 1"));
            }
        }
        if self.heads % self.kv_heads != 0 {
            return Err(WorkloadError::invalid(
                "kv_heads",
                self.kv_heads,
                format!(
                    "must divide heads = {} (each kv head serves a group of query heads)",
                    self.heads
                ),
            ));
        }
        if self.seq_len > MAX_SEQ_LEN {
            return Err(WorkloadError::invalid(
                "seq_len",
                self.seq_len,
                format!("must be at most {MAX_SEQ_LEN}"),
            ));
        }
        let layout = Layout::new(self.head_dim)?;
        let elements = self
            .heads
            .checked_mul(self.seq_len)
            .and_then(|n| n.checked_mul(self.head_dim));
        if elements.is_none_or(|n| n > isize::MAX as usize / 4) {
            return Err(WorkloadError::invalid(
                "heads x seq_len x head_dim",
                format!("{} x {} x {}", self.heads, self.seq_len, self.head_dim),
                "does not fit in memory",
            ));
        }
        Ok((ProfileSpec::parse(&self.profile)?, layout))
    }

    /// The profile name and strengths of every query head.
    pub fn head_profiles(&self) -> Result<Vec<(&'static str, HeadProfile)>> {
        let (profile, _) = self.check()?;
        Ok(profile.assign(self.heads, self.seed))
    }

    /// Where each kv head's structure sits (ground truth for tests and oracles).
    pub fn plans(&self) -> Result<Vec<KvHeadPlan>> {
        let (_, layout) = self.check()?;
        Ok(self.draw_plans(&layout))
    }

    fn draw_plans(&self, layout: &Layout) -> Vec<KvHeadPlan> {
        (0..self.kv_heads)
            .map(|kv| {
                let mut rng = SeededRng::new(self.seed, PLAN_STREAM | kv as u64);
                KvHeadPlan::draw(&mut rng, self.seq_len, CLUSTERS, layout.retrieval_slots())
            })
            .collect()
    }
}

/// Generates Q `[heads, seq, dim]` and K, V `[kv_heads, seq, dim]` for `spec`;
/// the workload is named `synthetic:<profile string>`.
pub fn generate(spec: &SyntheticSpec) -> Result<Workload> {
    let (profile, layout) = spec.check()?;
    let profiles: Vec<HeadProfile> = profile
        .assign(spec.heads, spec.seed)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let plans = spec.draw_plans(&layout);
    let grid = RotaryGrid::new(spec.seq_len, layout.pairs());
    let generator = Generator::new(spec.seed, spec.seq_len, &layout, &grid, &plans);
    let group = spec.heads / spec.kv_heads;
    let kv_of: Vec<usize> = (0..spec.heads).map(|h| h / group).collect();
    let (seq, dim) = (spec.seq_len, spec.head_dim);
    let (q, (k, v)) = rayon::join(
        || generator.queries(&profiles, &kv_of),
        || rayon::join(|| generator.keys(), || generator.values()),
    );
    Workload::new(
        format!("synthetic:{}", spec.profile.trim()),
        spec.seed,
        HeadTensor::new("Q", spec.heads, seq, dim, q)?,
        HeadTensor::new("K", spec.kv_heads, seq, dim, k)?,
        HeadTensor::new("V", spec.kv_heads, seq, dim, v)?,
    )
}

#[cfg(test)]
mod tests;
