//! GPU timing of a study row's mask with our CUDA kernels.
//!
//! Timing model: the workload's Q/K/V are converted to bf16 and uploaded with the mask's index once per
//! mask; [`WARMUP`] untimed launches, then [`ITERS`] launches each between two CUDA events on one
//! stream (`AttentionRun::time_ms`); the row reports the median. Kernel time only: index building on
//! the GPU is not included (the roofline's `predicted_ms` counts the method's estimation). Inputs are
//! not rotated: at the study's sizes they fit in L2, as they would in a real layer right after the
//! projections that wrote them.

use anyhow::{bail, Result};
use sparselab_kernels::cuda::streaming::streaming_run;
use sparselab_kernels::cuda::vertical_slash::vs_run;
use sparselab_kernels::cuda::{AttentionParams, AttentionRun, ElemType, Gpu, TileConfig};
use sparselab_kernels::mask::{Mask, MaskFormat};
use sparselab_workloads::Workload;

/// Untimed launches before the timed ones.
pub const WARMUP: usize = 3;
/// Timed launches per mask (the median is reported).
pub const ITERS: usize = 15;

/// A workload's Q/K/V as bf16 bit patterns, converted once for all of its masks.
struct Bf16Inputs {
    workload: String,
    seq_len: usize,
    q: Vec<u16>,
    k: Vec<u16>,
    v: Vec<u16>,
}

/// The GPU and the bf16 copy of the workload being timed.
pub struct GpuTimer {
    gpu: Gpu,
    inputs: Option<Bf16Inputs>,
}

impl GpuTimer {
    /// Opens GPU 0; an error when there is no driver, no device or no NVRTC.
    pub fn open() -> Result<Self> {
        Ok(Self {
            gpu: Gpu::new(0)?,
            inputs: None,
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        self.gpu.name()
    }

    /// Median kernel time of attention of `workload` under `mask`, ms. Masks without a GPU kernel
    /// (N:M, per-query key lists) are an error that names the format.
    pub fn median_ms(&mut self, workload: &Workload, mask: &Mask) -> Result<f64> {
        if !matches!(
            mask,
            Mask::Dense(_) | Mask::BlockSparse(_) | Mask::VerticalSlash(_) | Mask::Streaming(_)
        ) {
            bail!(
                "no GPU kernel for the {} format (kernels: dense, block-sparse, vertical-slash, streaming)",
                mask.format_name()
            );
        }
        let same = |i: &Bf16Inputs| i.workload == workload.name && i.seq_len == workload.seq_len();
        if !self.inputs.as_ref().is_some_and(same) {
            self.inputs = Some(Bf16Inputs {
                workload: workload.name.clone(),
                seq_len: workload.seq_len(),
                q: ElemType::Bf16.to_bits("q", workload.q().data())?,
                k: ElemType::Bf16.to_bits("k", workload.k().data())?,
                v: ElemType::Bf16.to_bits("v", workload.v().data())?,
            });
        }
        let Some(Bf16Inputs { q, k, v, .. }) = self.inputs.as_ref() else {
            bail!("the bf16 inputs were not prepared");
        };
        let arch = self.gpu.arch();
        let params = AttentionParams {
            heads: workload.heads(),
            kv_heads: workload.kv_heads(),
            seq_len: workload.seq_len(),
            head_dim: workload.head_dim(),
            causal: mask.causal(),
            // The fastest tiles of the GPU: wgmma on Hopper, mma.sync elsewhere.
            tile: TileConfig::best_for_rows(128, &arch).unwrap_or(TileConfig::W4M2),
            elem: ElemType::Bf16,
        };
        let mut run = match mask {
            Mask::Dense(_) => AttentionRun::new(&self.gpu, params, q, k, v, None)?,
            Mask::BlockSparse(m) => {
                let Some(tile) = TileConfig::best_for_rows(m.block(), &arch) else {
                    bail!("no GPU kernel for block {} (64 or 128)", m.block());
                };
                AttentionRun::new(&self.gpu, AttentionParams { tile, ..params }, q, k, v, Some(m))?
            }
            Mask::VerticalSlash(m) => vs_run(&self.gpu, params, q, k, v, m)?,
            Mask::Streaming(m) => streaming_run(&self.gpu, params, q, k, v, m)?,
            _ => bail!("no GPU kernel for the {} format", mask.format_name()),
        };
        let mut times = run.time_ms(WARMUP, ITERS)?;
        times.sort_by(f32::total_cmp);
        Ok(f64::from(times[times.len() / 2]))
    }
}
