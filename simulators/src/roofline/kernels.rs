//! Attention kernel implementations as the roofline sees them: tile shape, how many thread blocks
//! an SM holds, and fixed per-block costs. Their achieved efficiency is data in the presets
//! (`[kernels.NAME]`), because it differs by card.
//!
//! `block_overhead_tiles` here is the fallback: a block of `t` tiles costs `t + o` tile-times
//! ([`super::model`]), and a calibrated preset's `[measured.kernels.NAME] block_overhead_tiles`
//! (solved by `sparselab calibrate` from dense runs at two lengths, [`super::calibration`])
//! replaces it. The unit is one key tile of the work's tile shape (64 keys for sparselab's kernels).

use super::hardware::GpuPreset;
use super::work::{AttentionShape, TileShape};
use crate::error::{Result, SimulatorError};

/// The order in which a kernel's thread blocks reach the SMs: the hardware hands them out in grid
/// order, each to the first slot that frees, so the launch order sets the tail of the last wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchOrder {
    /// Globally longest first (the LPT schedule): what a kernel that sorts its query tiles by work
    /// across heads achieves (FlashAttention-3's tile scheduler).
    LongestFirst,
    /// Grid x = query tiles reversed, y = heads (sparselab's `kernels/cuda/*.cu`): head by head,
    /// each head's longest (last) query tile first. At 4096 tokens (32 heads, 128-row causal tiles,
    /// 264 slots) its tail is 1.27x the LPT one; at 16384 1.06x; at 65536 1.0004x.
    HeadByHead,
}

/// One attention kernel implementation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelSpec {
    /// Name used on the command line and in presets' `[kernels.NAME]`.
    pub name: &'static str,
    /// What it is.
    pub summary: &'static str,
    /// Query rows per thread block and keys per tile.
    pub tile: TileShape,
    /// Blocks an SM holds at most (register-limited); shared memory may allow fewer.
    pub max_blocks_per_sm: u64,
    /// Fixed cost of a thread block (Q load, epilogue, lse), in tile-equivalents; only in `predicted_ms`.
    /// Used when the preset has no measured value for this kernel.
    pub block_overhead_tiles: f64,
    /// How its thread blocks are dispatched ([`super::waves`]).
    pub launch_order: LaunchOrder,
}

/// The kernels the model knows.
pub const KERNELS: [KernelSpec; 11] = [
    KernelSpec {
        name: "fa2",
        summary: "FlashAttention-2 (PyTorch SDPA flash): 128x64 tiles, 4 warps, 2 blocks/SM",
        tile: TileShape { q: 128, k: 64 },
        max_blocks_per_sm: 2,
        block_overhead_tiles: 1.0,
        launch_order: LaunchOrder::LongestFirst,
    },
    KernelSpec {
        name: "cudnn",
        summary: "FA3-class Hopper kernel (cuDNN SDPA): 128x128 tiles, warp-specialised, 1 block/SM",
        tile: TileShape { q: 128, k: 128 },
        max_blocks_per_sm: 1,
        block_overhead_tiles: 1.0,
        launch_order: LaunchOrder::LongestFirst,
    },
    KernelSpec {
        name: "minference",
        summary: "MInference's Triton kernels (vertical-slash, block-sparse, A-shape): 64x64 tiles",
        tile: TileShape { q: 64, k: 64 },
        max_blocks_per_sm: 4,
        block_overhead_tiles: 1.0,
        launch_order: LaunchOrder::LongestFirst,
    },
    KernelSpec {
        name: "sparselab",
        summary: "sparselab's CUDA kernels (kernels/cuda/attention.cu, w4m2): 128x64 tiles, 2 blocks/SM",
        tile: TileShape { q: 128, k: 64 },
        max_blocks_per_sm: 2,
        // results/gpu-attention-h100-2026-11-23: block-sparse at 5% and 10% density take 2.4-2.6
        // tile-times per query block more than density x dense.
        block_overhead_tiles: 2.5,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-w4m1",
        summary:
            "sparselab's CUDA kernels with w4m1 tiles (64x64, 4 warps of 16 rows): vertical-slash, A-shape, block 64",
        tile: TileShape { q: 64, k: 64 },
        max_blocks_per_sm: 4,
        block_overhead_tiles: 2.5,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-w2m2",
        summary:
            "sparselab's CUDA kernels with w2m2 tiles (64x64, 2 warps of 32 rows): dense, block 64, vertical-slash",
        tile: TileShape { q: 64, k: 64 },
        max_blocks_per_sm: 4,
        block_overhead_tiles: 2.5,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-g1",
        summary: "sparselab's Hopper wgmma kernels with g1 tiles (64x64, one warpgroup, 2 blocks/SM)",
        tile: TileShape { q: 64, k: 64 },
        max_blocks_per_sm: 2,
        block_overhead_tiles: 2.5,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-g2",
        summary: "sparselab's Hopper wgmma kernels with g2 tiles (128x64, two warpgroups, 1 block/SM)",
        tile: TileShape { q: 128, k: 64 },
        max_blocks_per_sm: 1,
        block_overhead_tiles: 2.5,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-g2k",
        summary:
            "sparselab's Hopper wgmma kernels with g2k tiles (128x128, two warpgroups, 1 block/SM): dense, block 128",
        tile: TileShape { q: 128, k: 128 },
        max_blocks_per_sm: 1,
        block_overhead_tiles: 1.25,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-g2w",
        summary: "sparselab's Hopper g2w tiles (g2k warp-specialized with TMA on a persistent grid, 1 block/SM): \
                  dense, block 128",
        tile: TileShape { q: 128, k: 128 },
        max_blocks_per_sm: 1,
        // The next query block's Q and first K/V tile load during the current one's last tiles;
        // what is left per block is the output store and the item hand-over.
        block_overhead_tiles: 0.75,
        launch_order: LaunchOrder::HeadByHead,
    },
    KernelSpec {
        name: "sparselab-w8m1",
        summary: "sparselab's dense kernel with w8m1 tiles (128x64, 8 warps of 16 rows)",
        tile: TileShape { q: 128, k: 64 },
        max_blocks_per_sm: 1,
        block_overhead_tiles: 2.5,
        launch_order: LaunchOrder::HeadByHead,
    },
];

impl KernelSpec {
    /// The kernel called `name`.
    pub fn by_name(name: &str) -> Result<Self> {
        KERNELS.iter().find(|k| k.name == name).copied().ok_or_else(|| {
            SimulatorError::bad_workload(
                "kernel",
                name,
                format!(
                    "one of {}",
                    KERNELS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// The same kernel with another tile (block-sparse kernels run the mask's block).
    pub fn with_tile(self, tile: TileShape) -> Self {
        Self { tile, ..self }
    }

    /// Shared memory of one block: a Q tile and one K and one V tile, bytes.
    pub fn smem_per_block(&self, shape: &AttentionShape) -> u64 {
        (self.tile.q + 2 * self.tile.k) * shape.head_dim * shape.dtype_bytes
    }

    /// Blocks resident per SM: the register limit, or fewer when shared memory runs out (at least 1).
    pub fn blocks_per_sm(&self, shape: &AttentionShape, preset: &GpuPreset) -> u64 {
        let by_smem = preset.smem_per_sm / self.smem_per_block(shape).max(1);
        by_smem.clamp(1, self.max_blocks_per_sm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupancy_is_limited_by_shared_memory() {
        let h100 = GpuPreset::load("h100").unwrap();
        let shape = AttentionShape {
            seq_len: 4096,
            heads: 32,
            kv_heads: 8,
            head_dim: 128,
            causal: true,
            dtype_bytes: 2,
        };
        let mi = KernelSpec::by_name("minference").unwrap();
        // (64 + 128) x 128 x 2 = 48 KiB per block; 228 KiB hold 4.
        assert_eq!(mi.smem_per_block(&shape), 49152);
        assert_eq!(mi.blocks_per_sm(&shape, &h100), 4);
        let mut small = h100.clone();
        small.smem_per_sm = 100_000;
        assert_eq!(mi.blocks_per_sm(&shape, &small), 2);
        let e = KernelSpec::by_name("fa9").unwrap_err().to_string();
        assert!(e.contains("fa9") && e.contains("fa2"), "{e}");
    }
}
