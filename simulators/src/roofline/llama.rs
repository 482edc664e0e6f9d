//! A whole-model prefill: MInference's latency table (REFERENCE.md §4, A100, LLaMA-3-8B-1M) is
//! the time of a full prefill, so the attention of every layer is predicted, and the linear layers
//! (projections, MLP, LM head) as an optional line: `2 x parameters` FLOPs per token.

use super::families;
use super::hardware::GpuPreset;
use super::kernels::KernelSpec;
use super::model::{predict, Prediction};
use super::work::AttentionShape;
use crate::error::Result;

/// The parts of a decoder-only transformer that set prefill cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformerConfig {
    /// Model name.
    pub name: &'static str,
    /// Decoder layers.
    pub layers: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads.
    pub kv_heads: u64,
    /// Head dimension.
    pub head_dim: u64,
    /// Model width.
    pub hidden: u64,
    /// MLP width (gated: gate, up and down projections).
    pub intermediate: u64,
    /// Vocabulary (LM head).
    pub vocab: u64,
}

impl TransformerConfig {
    /// LLaMA-3-8B (and its 1M-context variant that MInference evaluates).
    pub const LLAMA3_8B: Self = Self {
        name: "LLaMA-3-8B",
        layers: 32,
        heads: 32,
        kv_heads: 8,
        head_dim: 128,
        hidden: 4096,
        intermediate: 14336,
        vocab: 128_256,
    };

    /// Parameters of the linear layers: per layer Q and O (`hidden x heads D` each), K and V
    /// (`hidden x kv_heads D` each), the gated MLP (`3 hidden intermediate`); plus the LM head.
    pub fn linear_params(&self) -> f64 {
        let (h, qd, kvd) = (
            self.hidden as f64,
            (self.heads * self.head_dim) as f64,
            (self.kv_heads * self.head_dim) as f64,
        );
        let per_layer = 2.0 * h * qd + 2.0 * h * kvd + 3.0 * h * self.intermediate as f64;
        self.layers as f64 * per_layer + h * self.vocab as f64
    }

    /// Linear-layer FLOPs per token: `2 x linear_params` (about 15e9 for LLaMA-3-8B, LM head on every token).
    pub fn linear_flops_per_token(&self) -> f64 {
        2.0 * self.linear_params()
    }

    /// The attention call of one layer at `seq_len` tokens (causal, bf16).
    pub fn attention_shape(&self, seq_len: u64) -> AttentionShape {
        AttentionShape {
            seq_len,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            causal: true,
            dtype_bytes: 2,
        }
    }
}

/// Which attention a prefill runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PrefillAttention {
    /// Dense causal attention with `kernel` (FlashAttention-2 in MInference's table).
    Dense {
        /// Kernel name.
        kernel: &'static str,
    },
    /// Vertical-slash with budgets `(v, s)`, a `spread` share of the slashes, index building included.
    VerticalSlash {
        /// Verticals.
        v: u64,
        /// Slashes.
        s: u64,
        /// Share of slashes away from the diagonal.
        spread: f64,
        /// Kernel name.
        kernel: &'static str,
    },
}

/// A predicted prefill.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefillPrediction {
    /// Tokens.
    pub seq_len: u64,
    /// One layer's attention.
    pub layer: Prediction,
    /// All layers' attention, predicted, seconds.
    pub attention_s: f64,
    /// All layers' attention at the ideal ceilings, seconds.
    pub attention_roofline_s: f64,
    /// Linear layers (projections, MLP, LM head), predicted, seconds.
    pub linear_s: f64,
}

impl PrefillPrediction {
    /// Attention plus linear layers, seconds.
    pub fn total_s(&self) -> f64 {
        self.attention_s + self.linear_s
    }
}

/// Predicts a prefill of `seq_len` tokens of `model` on `preset`. The linear layers run at the
/// preset's `gemm` efficiency (`[kernels.gemm]`, else the default).
pub fn predict_prefill(
    preset: &GpuPreset,
    model: &TransformerConfig,
    seq_len: u64,
    attention: PrefillAttention,
) -> Result<PrefillPrediction> {
    let shape = model.attention_shape(seq_len);
    let (work, kernel) = match attention {
        PrefillAttention::Dense { kernel } => {
            let k = KernelSpec::by_name(kernel)?;
            (families::dense(shape, k.tile)?, k)
        }
        PrefillAttention::VerticalSlash { v, s, spread, kernel } => {
            let k = KernelSpec::by_name(kernel)?;
            (families::vertical_slash(shape, k.tile, v, s, spread)?, k)
        }
    };
    let layer = predict(preset, &work, &kernel)?;
    let layers = model.layers as f64;
    let gemm = preset.efficiency("gemm", false);
    let linear_s = seq_len as f64 * model.linear_flops_per_token() / (preset.sustained().tensor_flops * gemm.tensor);
    Ok(PrefillPrediction {
        seq_len,
        attention_s: layers * layer.predicted_s,
        attention_roofline_s: layers * layer.roofline_s,
        linear_s,
        layer,
    })
}

/// Why a prediction and a paper's measured seconds differ by more than 25%, or `None` when they
/// agree. The sentence splits the gap two ways: if the linear layers took the predicted time, the
/// attention kernel ran at the implied fraction of the peak; or the residual is time outside both
/// (norms, RoPE, KV-cache writes, Python loops), given per 1K tokens.
pub fn explain_gap(label: &str, paper_s: f64, predicted: &PrefillPrediction) -> Option<String> {
    let ratio = predicted.total_s() / paper_s;
    if (0.75..=1.25).contains(&ratio) {
        return None;
    }
    let k = predicted.seq_len / 1000;
    let residual = paper_s - predicted.total_s();
    let implied_attention = paper_s - predicted.linear_s;
    let eff = predicted.layer.efficiency;
    let head = format!(
        "{label} at {k}K: predicted {:.1} s (attention {:.1} s + linear layers {:.1} s) is {:.0}% of the paper's {:.1} s",
        predicted.total_s(),
        predicted.attention_s,
        predicted.linear_s,
        100.0 * ratio,
        paper_s
    );
    Some(if ratio < 0.75 {
        let kernel = if implied_attention > 0.0 {
            format!(
                "either its attention ran at {:.0}% of the card's peak instead of the preset's {:.0}% for {}",
                100.0 * eff * predicted.attention_s / implied_attention,
                100.0 * eff,
                predicted.layer.kernel
            )
        } else {
            "the linear layers alone exceed the paper's time".to_string()
        };
        format!(
            "{head}: the paper times a whole HF-transformers prefill, so {kernel}, or {residual:.1} s ({:.0} ms per 1K tokens) \
             went to what the model leaves out (norms, RoPE, KV-cache writes, copies, Python loops over layers and heads)",
            1e3 * residual / (predicted.seq_len as f64 / 1000.0)
        )
    } else {
        format!(
            "{head}: the model is pessimistic; the paper's kernels ran above the {:.0}% of peak assumed for {}, \
             or its pattern executed fewer tiles than the analytic budget",
            100.0 * eff,
            predicted.layer.kernel
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_linear_flops_from_the_architecture() {
        let m = TransformerConfig::LLAMA3_8B;
        // Per layer: 2 x 4096 x 4096 + 2 x 4096 x 1024 + 3 x 4096 x 14336 = 218 103 808 parameters;
        // x 32 = 6 979 321 856; LM head 4096 x 128256 = 525 336 576.
        assert_eq!(m.linear_params(), 6_979_321_856.0 + 525_336_576.0);
        assert!((m.linear_flops_per_token() / 15.0e9 - 1.0).abs() < 0.01);
    }

    #[test]
    fn minference_beats_dense_at_long_lengths_on_the_a100() {
        let a100 = GpuPreset::load("a100").unwrap();
        let m = TransformerConfig::LLAMA3_8B;
        let dense = predict_prefill(&a100, &m, 1_000_000, PrefillAttention::Dense { kernel: "fa2" }).unwrap();
        let vs = predict_prefill(
            &a100,
            &m,
            1_000_000,
            PrefillAttention::VerticalSlash {
                v: 1000,
                s: 6096,
                spread: 0.0,
                kernel: "minference",
            },
        )
        .unwrap();
        let speedup = dense.total_s() / vs.total_s();
        assert!(speedup > 5.0, "{speedup}");
        // Dense attention at 1M is compute bound on the A100 (no HBM wall from re-reading K/V).
        assert_eq!(dense.layer.bound().name(), "compute");
        assert!(explain_gap("FA-2", dense.total_s(), &dense).is_none());
        let why = explain_gap("FA-2", 2.0 * dense.total_s(), &dense).unwrap();
        assert!(
            why.contains("50%") && why.contains("1000K") && why.contains("fa2"),
            "{why}"
        );
    }
}
