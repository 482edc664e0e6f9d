//! Kernel speedups predicted by the roofline: a method's attention (index building
//! included) against dense attention on the same preset and shape.

use anyhow::{Context, Result};
use sparselab_simulators::roofline::{predict, AttentionShape, GpuPreset, Prediction};

use crate::roofline_work::analytic;

/// Predicted time of `spec` on `shape` with kernel model `kernel` (None: the method's default),
/// seconds, index building included.
pub fn predicted_s(preset: &GpuPreset, spec: &str, shape: AttentionShape, kernel: Option<&str>) -> Result<f64> {
    Ok(prediction(preset, spec, shape, kernel)?.predicted_s)
}

/// The roofline's prediction of `spec` on `shape` with kernel model `kernel`.
pub fn prediction(preset: &GpuPreset, spec: &str, shape: AttentionShape, kernel: Option<&str>) -> Result<Prediction> {
    let mw = analytic(spec, shape, kernel).with_context(|| format!("method {spec}"))?;
    Ok(predict(preset, &mw.work, &mw.kernel)?)
}

/// Predicted dense time over the predicted time of `spec` (dense on `dense_kernel`, the method on
/// `kernel`).
pub fn speedup(
    preset: &GpuPreset,
    spec: &str,
    shape: AttentionShape,
    kernel: Option<&str>,
    dense_kernel: &str,
) -> Result<f64> {
    Ok(predicted_s(preset, "dense", shape, Some(dense_kernel))? / predicted_s(preset, spec, shape, kernel)?)
}

/// LLaMA-3-8B's attention shape (32 heads, 8 kv heads, D=128), causal bf16 prefill of `seq_len` tokens.
pub fn llama3_8b(seq_len: u64) -> AttentionShape {
    AttentionShape {
        seq_len,
        heads: 32,
        kv_heads: 8,
        head_dim: 128,
        causal: true,
        dtype_bytes: 2,
    }
}
