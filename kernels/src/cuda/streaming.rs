//! Launcher of the streaming (sink + window) attention kernel
//! (`kernels/cuda/streaming.cu`): the launch configuration (a pure function,
//! tested without a GPU) and the run. The kernel visits the 64-key tiles holding
//! sink keys and the tiles of the local window, and masks inside each tile exactly
//! the keys [`StreamingMask::keeps`] drops.

use super::attention::{AttentionParams, AttentionRun, LaunchPlan, MaskArgs, TileConfig};
use super::device::Gpu;
use super::sources::STREAMING;
use crate::error::{KernelError, Result};
use crate::mask::{MaskFormat, StreamingMask};
use cudarc::driver::{LaunchArgs, PushKernelArg};

/// The streaming kernel's mask arguments: sink tokens and window (query included),
/// each clamped to the sequence length (which keeps the same keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamingArgs {
    /// Leading keys every query keeps.
    pub sink: i32,
    /// Most recent keys every query keeps, itself included (>= 1).
    pub window: i32,
}

impl StreamingArgs {
    /// The arguments of `mask` on `seq_len` tokens.
    pub fn of(mask: &StreamingMask, seq_len: usize) -> Self {
        Self {
            sink: mask.sink().min(seq_len) as i32,
            window: mask.window().min(seq_len) as i32,
        }
    }
}

impl MaskArgs for StreamingArgs {
    fn push<'a>(&'a self, b: &mut LaunchArgs<'a>) {
        b.arg(&self.sink).arg(&self.window);
    }
}

/// The tile the streaming kernel uses for `tile`: 64-row blocks of 4 warps, or
/// 128-row blocks of 8 warps (the 4 x 32-row configuration spills registers here,
/// so it maps to 8 x 16); a wgmma tile keeps its family (g1 or g2 by rows).
pub fn streaming_tile(tile: TileConfig) -> TileConfig {
    match (tile.wgmma, tile.rows() == 64) {
        (true, true) => TileConfig::G1,
        (true, false) => TileConfig::G2,
        (false, true) => TileConfig::W4,
        (false, false) => TileConfig::W8,
    }
}

/// The launch configuration of the streaming kernel for `p` (pure); causal only.
pub fn plan_streaming_launch(p: &AttentionParams) -> Result<LaunchPlan> {
    let p = p.for_causal_kernel(streaming_tile(p.tile), "streaming")?;
    let rows = p.block_rows();
    Ok(LaunchPlan {
        kernel: format!("attn_fwd_stream_d{}_{}", p.head_dim, p.tile.kernel_tag()),
        grid: (p.seq_len.div_ceil(rows) as u32, p.heads as u32, 1),
        block: (32 * p.tile.warps as u32, 1, 1),
        shared_bytes: p.tile.shared_bytes(p.head_dim),
    })
}

/// An [`AttentionRun`] of the streaming kernel for `mask`.
pub fn streaming_run<'g>(
    gpu: &'g Gpu,
    p: AttentionParams,
    q: &[u16],
    k: &[u16],
    v: &[u16],
    mask: &StreamingMask,
) -> Result<AttentionRun<'g>> {
    if mask.heads() != p.heads || mask.seq_len() != p.seq_len {
        return Err(KernelError::MaskMismatch {
            problem: format!(
                "streaming mask is {} heads x {} tokens, the run {} x {}",
                mask.heads(),
                mask.seq_len(),
                p.heads,
                p.seq_len
            ),
        });
    }
    let plan = plan_streaming_launch(&p)?;
    let p = AttentionParams {
        tile: streaming_tile(p.tile),
        ..p
    };
    let args = StreamingArgs::of(mask, p.seq_len);
    AttentionRun::with_plan(gpu, p, plan, &STREAMING, q, k, v, Some(Box::new(args)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuda::ElemType;

    fn params(tile: TileConfig) -> AttentionParams {
        AttentionParams {
            heads: 4,
            kv_heads: 1,
            seq_len: 300,
            head_dim: 64,
            causal: true,
            tile,
            elem: ElemType::Bf16,
        }
    }

    #[test]
    fn plan_maps_tiles_to_compiled_kernels() {
        let p = plan_streaming_launch(&params(TileConfig::W4)).unwrap();
        assert_eq!(p.kernel, "attn_fwd_stream_d64_w4_m1");
        assert_eq!((p.grid, p.block.0), ((5, 4, 1), 128));
        let p = plan_streaming_launch(&params(TileConfig::W4M2)).unwrap();
        assert_eq!(p.kernel, "attn_fwd_stream_d64_w8_m1");
        assert_eq!((p.grid.0, p.block.0, p.shared_bytes), (3, 256, (128 + 128) * 64 * 2));
        let full = AttentionParams {
            causal: false,
            ..params(TileConfig::W4)
        };
        assert!(plan_streaming_launch(&full).is_err());
    }

    #[test]
    fn arguments_are_clamped_to_the_sequence() {
        let m = StreamingMask::new(1, 100, 500, 1000).unwrap();
        assert_eq!(StreamingArgs::of(&m, 100), StreamingArgs { sink: 100, window: 100 });
    }
}
