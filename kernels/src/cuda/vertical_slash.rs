//! Launcher of the vertical-slash attention kernel (`kernels/cuda/vertical_slash.cu`):
//! the [`VerticalSlashMask`] in the kernel's int32 index layout, its upload, the
//! launch configuration (a pure function, tested without a GPU) and the run.

use super::attention::{AttentionParams, AttentionRun, LaunchPlan, MaskArgs, TileConfig};
use super::device::{driver_err, Gpu};
use super::sources::VERTICAL_SLASH;
use crate::error::{KernelError, Result};
use crate::mask::{num_blocks, MaskFormat, VerticalSlashMask, VS_BLOCK};
use cudarc::driver::{CudaSlice, LaunchArgs, PushKernelArg};

/// A vertical-slash index in the kernel's layout, on the host. For
/// `row = head * query_blocks + query_block` (64-row blocks):
/// `blocks[blk_start[row] ..][.. blk_count[row]]` are the start keys of the
/// contiguous 64-key blocks and `cols[col_start[row] ..][.. col_count[row]]` the
/// loose vertical columns, both sorted. All int32, as in MInference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VsHostIndex {
    /// Start of each row's blocks in `blocks`, `[heads * query_blocks]`.
    pub blk_start: Vec<i32>,
    /// Blocks of each row.
    pub blk_count: Vec<i32>,
    /// Start keys of the 64-key blocks.
    pub blocks: Vec<i32>,
    /// Start of each row's columns in `cols`.
    pub col_start: Vec<i32>,
    /// Columns of each row.
    pub col_count: Vec<i32>,
    /// Loose vertical columns.
    pub cols: Vec<i32>,
}

fn to_i32(what: &'static str, n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| KernelError::Unsupported {
        param: what,
        value: n.to_string(),
        expected: "at most 2^31 - 1 entries (int32 indices)".to_string(),
    })
}

/// The kernel layout of `mask` (packed: each row's entries follow the previous row's).
pub fn vs_host_index(mask: &VerticalSlashMask) -> Result<VsHostIndex> {
    let nrb = num_blocks(mask.seq_len(), VS_BLOCK);
    let mut idx = VsHostIndex::default();
    for h in 0..mask.heads() {
        for rb in 0..nrb {
            let blocks = mask.block_offsets(h, rb);
            let cols = mask.columns(h, rb);
            idx.blk_start.push(to_i32("vertical-slash blocks", idx.blocks.len())?);
            idx.blk_count.push(blocks.len() as i32);
            idx.blocks.extend(blocks.iter().map(|&b| b as i32));
            idx.col_start.push(to_i32("vertical-slash columns", idx.cols.len())?);
            idx.col_count.push(cols.len() as i32);
            idx.cols.extend(cols.iter().map(|&c| c as i32));
        }
    }
    to_i32("vertical-slash blocks", idx.blocks.len())?;
    to_i32("vertical-slash columns", idx.cols.len())?;
    Ok(idx)
}

/// A vertical-slash index on the device, in the kernel's argument order. Built by
/// uploading a [`VsHostIndex`] or on the GPU by [`super::index::VsIndexBuilder`].
pub struct VsIndexArgs {
    /// `[heads * query_blocks]` starts into `blocks`.
    pub blk_start: CudaSlice<i32>,
    /// `[heads * query_blocks]` block counts.
    pub blk_count: CudaSlice<i32>,
    /// Block start keys.
    pub blocks: CudaSlice<i32>,
    /// `[heads * query_blocks]` starts into `cols`.
    pub col_start: CudaSlice<i32>,
    /// `[heads * query_blocks]` column counts.
    pub col_count: CudaSlice<i32>,
    /// Loose columns.
    pub cols: CudaSlice<i32>,
}

impl MaskArgs for VsIndexArgs {
    fn push<'a>(&'a self, b: &mut LaunchArgs<'a>) {
        b.arg(&self.blk_start)
            .arg(&self.blk_count)
            .arg(&self.blocks)
            .arg(&self.col_start)
            .arg(&self.col_count)
            .arg(&self.cols);
    }
}

/// `x`, or one 0 when empty (a zero-length allocation is not allowed; never read).
fn non_empty(x: &[i32]) -> Vec<i32> {
    if x.is_empty() {
        vec![0]
    } else {
        x.to_vec()
    }
}

impl VsIndexArgs {
    /// Uploads `idx`.
    pub fn upload(gpu: &Gpu, idx: &VsHostIndex) -> Result<Self> {
        let s = gpu.stream();
        let up = |x: &[i32]| s.clone_htod(&non_empty(x)).map_err(driver_err("cuMemcpyHtoD"));
        Ok(Self {
            blk_start: up(&idx.blk_start)?,
            blk_count: up(&idx.blk_count)?,
            blocks: up(&idx.blocks)?,
            col_start: up(&idx.col_start)?,
            col_count: up(&idx.col_count)?,
            cols: up(&idx.cols)?,
        })
    }

    /// Copies the index back, packed as [`vs_host_index`] packs it (for tests).
    pub fn download(&self, gpu: &Gpu) -> Result<VsHostIndex> {
        let s = gpu.stream();
        let down = |x: &CudaSlice<i32>| s.clone_dtoh(x).map_err(driver_err("cuMemcpyDtoH"));
        let (bs, bc, b) = (down(&self.blk_start)?, down(&self.blk_count)?, down(&self.blocks)?);
        let (cs, cc, c) = (down(&self.col_start)?, down(&self.col_count)?, down(&self.cols)?);
        let mut idx = VsHostIndex::default();
        let slice = |data: &[i32], start: i32, count: i32| -> Result<Vec<i32>> {
            let (a, n) = (start.max(0) as usize, count.max(0) as usize);
            data.get(a..a + n)
                .map(<[i32]>::to_vec)
                .ok_or_else(|| KernelError::Cuda {
                    call: "vertical-slash index download".to_string(),
                    detail: format!("row range {a}..{} outside {} entries", a + n, data.len()),
                })
        };
        for row in 0..bs.len() {
            idx.blk_start.push(idx.blocks.len() as i32);
            idx.blk_count.push(bc[row]);
            idx.blocks.extend(slice(&b, bs[row], bc[row])?);
            idx.col_start.push(idx.cols.len() as i32);
            idx.col_count.push(cc[row]);
            idx.cols.extend(slice(&c, cs[row], cc[row])?);
        }
        Ok(idx)
    }
}

/// The tile of the vertical-slash kernel for a requested `tile`: the format's query
/// block is 64 rows, so [`TileConfig::W2M2`] when asked for, [`TileConfig::G1`] for a
/// wgmma tile, else [`TileConfig::W4`].
pub fn vs_tile(tile: TileConfig) -> TileConfig {
    if tile == TileConfig::W2M2 {
        tile
    } else if tile.wgmma {
        TileConfig::G1
    } else {
        TileConfig::W4
    }
}

/// The launch configuration of the vertical-slash kernel for `p` (pure), with the
/// tile [`vs_tile`] picks; causal only.
pub fn plan_vs_launch(p: &AttentionParams) -> Result<LaunchPlan> {
    let p = p.for_causal_kernel(vs_tile(p.tile), "vertical-slash")?;
    Ok(LaunchPlan {
        kernel: format!("attn_fwd_vs_d{}_{}", p.head_dim, p.tile.kernel_tag()),
        grid: (num_blocks(p.seq_len, VS_BLOCK) as u32, p.heads as u32, 1),
        block: (32 * p.tile.warps as u32, 1, 1),
        shared_bytes: p.tile.shared_bytes(p.head_dim),
    })
}

/// Checks that `mask` covers the run's heads and tokens.
fn check_mask(p: &AttentionParams, heads: usize, seq_len: usize) -> Result<()> {
    if heads != p.heads || seq_len != p.seq_len {
        return Err(KernelError::MaskMismatch {
            problem: format!(
                "vertical-slash index is {heads} heads x {seq_len} tokens, the run {} x {}",
                p.heads, p.seq_len
            ),
        });
    }
    Ok(())
}

/// An [`AttentionRun`] of the vertical-slash kernel over `args` (an index for
/// `p.heads` heads of `p.seq_len` tokens, e.g. built on the GPU).
pub fn vs_run_with_index<'g>(
    gpu: &'g Gpu,
    p: AttentionParams,
    q: &[u16],
    k: &[u16],
    v: &[u16],
    args: VsIndexArgs,
) -> Result<AttentionRun<'g>> {
    let plan = plan_vs_launch(&p)?;
    let p = AttentionParams {
        tile: vs_tile(p.tile),
        ..p
    };
    AttentionRun::with_plan(gpu, p, plan, &VERTICAL_SLASH, q, k, v, Some(Box::new(args)))
}

/// An [`AttentionRun`] of the vertical-slash kernel over `mask` (uploaded).
pub fn vs_run<'g>(
    gpu: &'g Gpu,
    p: AttentionParams,
    q: &[u16],
    k: &[u16],
    v: &[u16],
    mask: &VerticalSlashMask,
) -> Result<AttentionRun<'g>> {
    check_mask(&p, mask.heads(), mask.seq_len())?;
    let idx = vs_host_index(mask)?;
    let args = VsIndexArgs::upload(gpu, &idx)?;
    vs_run_with_index(gpu, p, q, k, v, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cuda::ElemType;

    fn params() -> AttentionParams {
        AttentionParams {
            heads: 8,
            kv_heads: 2,
            seq_len: 1000,
            head_dim: 128,
            causal: true,
            tile: TileConfig::W4M2,
            elem: ElemType::Bf16,
        }
    }

    #[test]
    fn plan_uses_64_row_blocks() {
        let plan = plan_vs_launch(&params()).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_vs_d128_w4_m1");
        assert_eq!(plan.grid, (16, 8, 1)); // ceil(1000 / 64)
        assert_eq!(plan.block, (128, 1, 1));
        assert_eq!(plan.shared_bytes, (64 + 128) * 128 * 2);
        let two = plan_vs_launch(&AttentionParams {
            tile: TileConfig::W2M2,
            ..params()
        })
        .unwrap();
        assert_eq!((two.kernel.as_str(), two.block.0), ("attn_fwd_vs_d128_w2_m2", 64));
        let e = plan_vs_launch(&AttentionParams {
            causal: false,
            ..params()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("causal = false"), "{e}");
        assert!(plan_vs_launch(&AttentionParams {
            head_dim: 80,
            ..params()
        })
        .is_err());
    }

    #[test]
    fn host_index_packs_rows_in_order() {
        let m = VerticalSlashMask::new(2, 130, vec![vec![1, 2, 100], vec![5]], vec![vec![0], vec![0, 70]]).unwrap();
        let idx = vs_host_index(&m).unwrap();
        let nrb = 3;
        assert_eq!(idx.blk_start.len(), 2 * nrb);
        for h in 0..2 {
            for rb in 0..nrb {
                let row = h * nrb + rb;
                let (a, n) = (idx.blk_start[row] as usize, idx.blk_count[row] as usize);
                let want: Vec<i32> = m.block_offsets(h, rb).iter().map(|&x| x as i32).collect();
                assert_eq!(idx.blocks[a..a + n], want[..], "blocks of head {h} row block {rb}");
                let (a, n) = (idx.col_start[row] as usize, idx.col_count[row] as usize);
                let want: Vec<i32> = m.columns(h, rb).iter().map(|&x| x as i32).collect();
                assert_eq!(idx.cols[a..a + n], want[..], "columns of head {h} row block {rb}");
            }
        }
        // Row block 1 of head 0 (rows 64..128): block from the main diagonal at 64, columns 1 and 2.
        assert_eq!(idx.blocks[idx.blk_start[1] as usize], 64);
        assert_eq!(idx.col_count[1], 2);
    }
}
