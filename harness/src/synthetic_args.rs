//! The command-line flags that describe a synthetic workload, shared by every
//! subcommand that generates one.

use sparselab_workloads::synthetic::SyntheticSpec;

/// `--profile --seq-len --heads --kv-heads --head-dim --seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct SyntheticArgs {
    /// Head profile (streaming, vertical-slash, block, retrieval, mixed, llama-like; `sparselab workloads
    /// profiles`), optionally with strength overrides, e.g. `vertical-slash:noise=0.5`.
    #[arg(long, default_value = "llama-like")]
    pub profile: String,
    /// Tokens (any length, not only multiples of 64).
    #[arg(long, default_value_t = 4096)]
    pub seq_len: usize,
    /// Query heads.
    #[arg(long, default_value_t = 8)]
    pub heads: usize,
    /// Key/value heads (grouped-query attention); defaults to `--heads`.
    #[arg(long)]
    pub kv_heads: Option<usize>,
    /// Head dimension (64 or 128 in the papers; at least 32).
    #[arg(long, default_value_t = 128)]
    pub head_dim: usize,
    /// Seed of the generator (the same seed gives the same tensors on every machine).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SyntheticArgs {
    /// The generator's specification.
    pub fn spec(&self) -> SyntheticSpec {
        SyntheticSpec {
            profile: self.profile.clone(),
            seq_len: self.seq_len,
            heads: self.heads,
            kv_heads: self.kv_heads.unwrap_or(self.heads),
            head_dim: self.head_dim,
            seed: self.seed,
        }
    }
}
