//! Index building on the GPU (`kernels/cuda/index.cu`): MInference's
//! vertical-slash estimate from the last 64 queries with the conversion to the
//! kernel format ([`VsIndexBuilder`]), and pooled block scores with top-k for
//! block-sparse attention ([`BlockTopKBuilder`]). Both select what the CPU
//! methods ([`crate::method::VerticalSlash`], [`crate::method::BlockTopK`]) select
//! on the same bf16 inputs, up to float rounding of scores that nearly tie: every
//! score is fp32 on both sides, ties go to the smaller index on both.
//!
//! Each builder uploads its own copy of Q and K, owns its scratch buffers, and
//! enqueues all of its kernels in [`VsIndexBuilder::build`] /
//! [`BlockTopKBuilder::build`], so a caller can time index building with
//! [`Gpu::time_ms`] apart from the attention kernel.

use super::attention::{AttentionParams, BlockCsrArgs};
use super::device::{driver_err, Gpu};
use super::sources::INDEX;
use super::vertical_slash::VsIndexArgs;
use crate::error::{KernelError, Result};
use crate::mask::{num_blocks, VS_BLOCK};
use crate::method::{FORCED_COLUMNS, FORCED_DIAGONALS, LAST_QUERIES};
use cudarc::driver::{CudaFunction, CudaSlice, LaunchConfig, PushKernelArg};

fn cfg(grid: (u32, u32, u32), block: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: grid,
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn alloc<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits>(gpu: &Gpu, n: usize) -> Result<CudaSlice<T>> {
    gpu.stream()
        .alloc_zeros::<T>(n.max(1))
        .map_err(driver_err("cuMemAlloc"))
}

fn i32_of(what: &'static str, n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| KernelError::Unsupported {
        param: what,
        value: n.to_string(),
        expected: "at most 2^31 - 1 (int32 indices)".to_string(),
    })
}

/// Capacity layout of the GPU-built vertical-slash index: per (head, 64-row block)
/// the start of its room for blocks and for columns. Row block `rb` has at most
/// `min(slashes, rb + 1)` blocks (they start at least 64 keys apart below the block
/// end, and each merged slash range yields at most one block per slash) and
/// `min(verticals, keys before the block end)` columns. Pure, tested without a GPU.
pub fn vs_capacity(heads: usize, seq_len: usize, n_vert: usize, n_slash: usize) -> Result<(Vec<i32>, Vec<i32>)> {
    let nrb = num_blocks(seq_len, VS_BLOCK);
    let mut blk = Vec::with_capacity(heads * nrb);
    let mut col = Vec::with_capacity(heads * nrb);
    let (mut b, mut c) = (0usize, 0usize);
    for _ in 0..heads {
        for rb in 0..nrb {
            blk.push(i32_of("vertical-slash block capacity", b)?);
            col.push(i32_of("vertical-slash column capacity", c)?);
            b += n_slash.min(rb + 1);
            c += n_vert.min(((rb + 1) * VS_BLOCK).min(seq_len));
        }
    }
    i32_of("vertical-slash block capacity", b)?;
    i32_of("vertical-slash column capacity", c)?;
    blk.push(b as i32);
    col.push(c as i32);
    Ok((blk, col))
}

/// Per head, the selected vertical columns and the selected slash offsets (`q - k`).
pub type LineSelection = (Vec<Vec<u32>>, Vec<Vec<u32>>);

/// The vertical-slash estimate and conversion for one shape and budget.
pub struct VsIndexBuilder<'g> {
    gpu: &'g Gpu,
    heads: usize,
    kv_heads: usize,
    seq_len: usize,
    head_dim: usize,
    n_vert: usize,
    n_slash: usize,
    q: CudaSlice<u16>,
    k: CudaSlice<u16>,
    stats: CudaSlice<f32>,
    row_max: CudaSlice<f32>,
    row_inv: CudaSlice<f32>,
    lines: CudaSlice<f32>,
    diag_part: CudaSlice<f32>,
    verticals: CudaSlice<i32>,
    slashes: CudaSlice<i32>,
    out: VsIndexArgs,
    f_stats: CudaFunction,
    f_rows: CudaFunction,
    f_partials: CudaFunction,
    f_combine: CudaFunction,
    f_topk: CudaFunction,
    f_convert: CudaFunction,
}

impl<'g> VsIndexBuilder<'g> {
    /// Uploads Q `[heads, L, D]` and K `[kv_heads, L, D]` (shape from `p`;
    /// causal only) and allocates for `n_vert` columns and `n_slash` diagonals per
    /// head (the method's effective budgets, each at most L).
    pub fn new(gpu: &'g Gpu, p: &AttentionParams, q: &[u16], k: &[u16], n_vert: usize, n_slash: usize) -> Result<Self> {
        p.validate()?;
        let (h, l, d) = (p.heads, p.seq_len, p.head_dim);
        for (name, len, want) in [("q", q.len(), h * l * d), ("k", k.len(), p.kv_heads * l * d)] {
            if len != want {
                return Err(KernelError::Unsupported {
                    param: "tensor length",
                    value: format!("{name}: {len}"),
                    expected: format!("{want} elements"),
                });
            }
        }
        for (param, n) in [("verticals", n_vert), ("slashes", n_slash)] {
            if n == 0 || n > l {
                return Err(KernelError::Unsupported {
                    param,
                    value: n.to_string(),
                    expected: format!("between 1 and the sequence length {l}"),
                });
            }
        }
        let nkt = num_blocks(l, 64);
        let nrb = num_blocks(l, VS_BLOCK);
        let s = gpu.stream();
        let up = |x: &[u16]| s.clone_htod(x).map_err(driver_err("cuMemcpyHtoD"));
        let (blk_cap, col_cap) = vs_capacity(h, l, n_vert, n_slash)?;
        let out = VsIndexArgs {
            blk_start: s.clone_htod(&blk_cap[..h * nrb]).map_err(driver_err("cuMemcpyHtoD"))?,
            blk_count: alloc(gpu, h * nrb)?,
            blocks: alloc(gpu, blk_cap[h * nrb] as usize)?,
            col_start: s.clone_htod(&col_cap[..h * nrb]).map_err(driver_err("cuMemcpyHtoD"))?,
            col_count: alloc(gpu, h * nrb)?,
            cols: alloc(gpu, col_cap[h * nrb] as usize)?,
        };
        let f = |name: &str| gpu.function(&INDEX.with_elem(p.elem), name);
        Ok(Self {
            gpu,
            heads: h,
            kv_heads: p.kv_heads,
            seq_len: l,
            head_dim: d,
            n_vert,
            n_slash,
            q: up(q)?,
            k: up(k)?,
            stats: alloc(gpu, h * nkt * 64 * 2)?,
            row_max: alloc(gpu, h * 64)?,
            row_inv: alloc(gpu, h * 64)?,
            lines: alloc(gpu, 2 * h * l)?,
            diag_part: alloc(gpu, h * nkt * 128)?,
            verticals: alloc(gpu, h * n_vert)?,
            slashes: alloc(gpu, h * n_slash)?,
            out,
            f_stats: f(&format!("vs_tile_stats_d{d}"))?,
            f_rows: f("vs_row_stats")?,
            f_partials: f(&format!("vs_line_partials_d{d}"))?,
            f_combine: f("vs_slash_combine")?,
            f_topk: f("vs_topk")?,
            f_convert: f("vs_convert")?,
        })
    }

    /// Enqueues the whole index build (estimate, top-k, conversion) on the GPU's stream.
    pub fn build(&mut self) -> Result<()> {
        let (h, l) = (self.heads, self.seq_len);
        let nkt = num_blocks(l, 64);
        let nrb = num_blocks(l, VS_BLOCK);
        let (li, hi, kvi, nkti) = (l as i32, h as i32, self.kv_heads as i32, nkt as i32);
        let scale = 1.0f32 / (self.head_dim as f32).sqrt();
        let (nv, ns) = (self.n_vert as i32, self.n_slash as i32);
        let forced_cols = FORCED_COLUMNS.min(l) as i32;
        let forced_diags = FORCED_DIAGONALS.min(l) as i32;
        debug_assert_eq!(LAST_QUERIES, 64, "index.cu estimates from 64 query rows");
        let s = self.gpu.stream().clone();
        let launch = |b: &mut cudarc::driver::LaunchArgs<'_>, c: LaunchConfig| {
            // SAFETY: each argument list below matches its kernel's signature in
            // index.cu; buffer sizes were allocated in `new` for this shape.
            unsafe { b.launch(c) }.map(|_| ()).map_err(driver_err("cuLaunchKernel"))
        };
        let grid_tiles = (nkt as u32, h as u32, 1);
        let mut b = s.launch_builder(&self.f_stats);
        b.arg(&self.q).arg(&self.k).arg(&mut self.stats);
        b.arg(&li).arg(&hi).arg(&kvi).arg(&scale);
        launch(&mut b, cfg(grid_tiles, 128))?;
        let mut b = s.launch_builder(&self.f_rows);
        b.arg(&self.stats)
            .arg(&mut self.row_max)
            .arg(&mut self.row_inv)
            .arg(&nkti);
        launch(&mut b, cfg((h as u32, 1, 1), 64))?;
        let mut b = s.launch_builder(&self.f_partials);
        b.arg(&self.q).arg(&self.k).arg(&self.row_max).arg(&self.row_inv);
        b.arg(&mut self.lines).arg(&mut self.diag_part);
        b.arg(&li).arg(&hi).arg(&kvi).arg(&scale);
        launch(&mut b, cfg(grid_tiles, 128))?;
        let mut b = s.launch_builder(&self.f_combine);
        b.arg(&self.diag_part).arg(&mut self.lines).arg(&li).arg(&nkti);
        launch(&mut b, cfg((l.div_ceil(256) as u32, h as u32, 1), 256))?;
        let mut b = s.launch_builder(&self.f_topk);
        b.arg(&self.lines)
            .arg(&li)
            .arg(&nv)
            .arg(&ns)
            .arg(&forced_cols)
            .arg(&forced_diags);
        b.arg(&mut self.verticals).arg(&mut self.slashes);
        launch(&mut b, cfg((2, h as u32, 1), 1024))?;
        let o = &mut self.out;
        let mut b = s.launch_builder(&self.f_convert);
        b.arg(&self.verticals).arg(&nv).arg(&self.slashes).arg(&ns);
        b.arg(&o.blk_start).arg(&mut o.blk_count).arg(&mut o.blocks);
        b.arg(&o.col_start).arg(&mut o.col_count).arg(&mut o.cols);
        b.arg(&li).arg(&hi);
        launch(&mut b, cfg(((h * nrb).div_ceil(128) as u32, 1, 1), 128))
    }

    /// The selected columns and diagonal offsets of each head, sorted (waits for the
    /// stream): `(verticals[h], slashes[h])`.
    pub fn selection(&self) -> Result<LineSelection> {
        let s = self.gpu.stream();
        let v = s.clone_dtoh(&self.verticals).map_err(driver_err("cuMemcpyDtoH"))?;
        let sl = s.clone_dtoh(&self.slashes).map_err(driver_err("cuMemcpyDtoH"))?;
        let split = |x: &[i32], n: usize| {
            x.chunks(n)
                .take(self.heads)
                .map(|c| c.iter().map(|&i| i as u32).collect())
                .collect()
        };
        Ok((split(&v, self.n_vert), split(&sl, self.n_slash)))
    }

    /// The column (`line = 0`) or diagonal (`line = 1`) scores of head `h`, `[L]`,
    /// before forcing (waits for the stream; for tests and diagnostics).
    pub fn scores(&self, h: usize, line: usize) -> Result<Vec<f32>> {
        let all = self
            .gpu
            .stream()
            .clone_dtoh(&self.lines)
            .map_err(driver_err("cuMemcpyDtoH"))?;
        let at = (2 * h + line) * self.seq_len;
        Ok(all[at..at + self.seq_len].to_vec())
    }

    /// The kernel-format index of the last [`VsIndexBuilder::build`].
    pub fn index(&self) -> &VsIndexArgs {
        &self.out
    }

    /// Gives up the builder, keeping the index for the attention kernel.
    pub fn into_index(self) -> VsIndexArgs {
        self.out
    }
}

/// Row starts of the block top-k output: query block `qb` of every head keeps
/// `min(k, visible)` blocks, visible = `qb + 1` when causal, all `nb` otherwise.
/// `[heads * nb + 1]`. Pure, tested without a GPU.
pub fn topk_offsets(heads: usize, nb: usize, k: usize, causal: bool) -> Result<Vec<u32>> {
    let mut off = Vec::with_capacity(heads * nb + 1);
    let mut total = 0usize;
    off.push(0u32);
    for _ in 0..heads {
        for qb in 0..nb {
            total += k.min(if causal { qb + 1 } else { nb });
            off.push(u32::try_from(total).map_err(|_| KernelError::Unsupported {
                param: "selected blocks",
                value: total.to_string(),
                expected: "at most 2^32 - 1".to_string(),
            })?);
        }
    }
    Ok(off)
}

/// Mean-pooled block scores with top-k per query block, for one shape and budget.
pub struct BlockTopKBuilder<'g> {
    gpu: &'g Gpu,
    heads: usize,
    kv_heads: usize,
    seq_len: usize,
    head_dim: usize,
    block: usize,
    k_blocks: usize,
    causal: bool,
    q: CudaSlice<u16>,
    k: CudaSlice<u16>,
    q_pool: CudaSlice<f32>,
    k_pool: CudaSlice<f32>,
    scores: CudaSlice<f32>,
    out: BlockCsrArgs,
    f_pool: CudaFunction,
    f_scores: CudaFunction,
    f_topk: CudaFunction,
}

impl<'g> BlockTopKBuilder<'g> {
    /// Uploads bf16 Q and K (shape and causality from `p`) and allocates for the top
    /// `k_blocks` blocks of `block` tokens (64 or 128) per query block.
    pub fn new(gpu: &'g Gpu, p: &AttentionParams, q: &[u16], k: &[u16], k_blocks: usize, block: usize) -> Result<Self> {
        p.validate()?;
        if block != 64 && block != 128 {
            return Err(KernelError::Unsupported {
                param: "block",
                value: block.to_string(),
                expected: "64 or 128".to_string(),
            });
        }
        let (h, l, d) = (p.heads, p.seq_len, p.head_dim);
        for (name, len, want) in [("q", q.len(), h * l * d), ("k", k.len(), p.kv_heads * l * d)] {
            if len != want {
                return Err(KernelError::Unsupported {
                    param: "tensor length",
                    value: format!("{name}: {len}"),
                    expected: format!("{want} elements"),
                });
            }
        }
        let nb = num_blocks(l, block);
        if k_blocks == 0 {
            return Err(KernelError::Unsupported {
                param: "k",
                value: "0".to_string(),
                expected: "at least 1 block".to_string(),
            });
        }
        let offsets = topk_offsets(h, nb, k_blocks, p.causal)?;
        let total = *offsets.last().unwrap_or(&0) as usize;
        let s = gpu.stream();
        let up = |x: &[u16]| s.clone_htod(x).map_err(driver_err("cuMemcpyHtoD"));
        let out = BlockCsrArgs {
            offsets: s.clone_htod(&offsets).map_err(driver_err("cuMemcpyHtoD"))?,
            blocks: alloc(gpu, total)?,
        };
        let f = |name: &str| gpu.function(&INDEX.with_elem(p.elem), name);
        Ok(Self {
            gpu,
            heads: h,
            kv_heads: p.kv_heads,
            seq_len: l,
            head_dim: d,
            block,
            k_blocks,
            causal: p.causal,
            q: up(q)?,
            k: up(k)?,
            q_pool: alloc(gpu, h * nb * d)?,
            k_pool: alloc(gpu, p.kv_heads * nb * d)?,
            scores: alloc(gpu, h * nb * nb)?,
            out,
            f_pool: f("bs_mean_pool")?,
            f_scores: f("bs_pooled_scores")?,
            f_topk: f("bs_topk")?,
        })
    }

    /// Enqueues pooling, pooled scores and top-k on the GPU's stream.
    pub fn build(&mut self) -> Result<()> {
        let nb = num_blocks(self.seq_len, self.block);
        let (li, di, bi, nbi) = (self.seq_len as i32, self.head_dim as i32, self.block as i32, nb as i32);
        let (hi, kvi, ki, ci) = (
            self.heads as i32,
            self.kv_heads as i32,
            self.k_blocks as i32,
            self.causal as i32,
        );
        let s = self.gpu.stream().clone();
        let launch = |b: &mut cudarc::driver::LaunchArgs<'_>, c: LaunchConfig| {
            // SAFETY: each argument list below matches its kernel's signature in
            // index.cu; buffer sizes were allocated in `new` for this shape.
            unsafe { b.launch(c) }.map(|_| ()).map_err(driver_err("cuLaunchKernel"))
        };
        let threads = self.head_dim as u32;
        let mut b = s.launch_builder(&self.f_pool);
        b.arg(&self.q).arg(&mut self.q_pool).arg(&li).arg(&di).arg(&bi);
        launch(&mut b, cfg((nb as u32, self.heads as u32, 1), threads))?;
        let mut b = s.launch_builder(&self.f_pool);
        b.arg(&self.k).arg(&mut self.k_pool).arg(&li).arg(&di).arg(&bi);
        launch(&mut b, cfg((nb as u32, self.kv_heads as u32, 1), threads))?;
        let tiles = nb.div_ceil(64) as u32;
        let mut b = s.launch_builder(&self.f_scores);
        b.arg(&self.q_pool).arg(&self.k_pool).arg(&mut self.scores);
        b.arg(&nbi).arg(&di).arg(&hi).arg(&kvi).arg(&ci);
        launch(&mut b, cfg((tiles, tiles, self.heads as u32), 256))?;
        let o = &mut self.out;
        let mut b = s.launch_builder(&self.f_topk);
        b.arg(&self.scores)
            .arg(&nbi)
            .arg(&ki)
            .arg(&ci)
            .arg(&o.offsets)
            .arg(&mut o.blocks);
        launch(&mut b, cfg((nb as u32, self.heads as u32, 1), 256))
    }

    /// The selected key blocks of each (head, query block), `[heads * nb]` lists,
    /// sorted (waits for the stream).
    pub fn selection(&self) -> Result<Vec<Vec<u32>>> {
        let s = self.gpu.stream();
        let off = s.clone_dtoh(&self.out.offsets).map_err(driver_err("cuMemcpyDtoH"))?;
        let blocks = s.clone_dtoh(&self.out.blocks).map_err(driver_err("cuMemcpyDtoH"))?;
        Ok(off
            .windows(2)
            .map(|w| blocks[w[0] as usize..w[1] as usize].to_vec())
            .collect())
    }

    /// Pooled scores of head `h`, query block `qb`: `[nb]` (waits for the stream;
    /// entries above the diagonal are not computed when causal).
    pub fn scores(&self, h: usize, qb: usize) -> Result<Vec<f32>> {
        let nb = num_blocks(self.seq_len, self.block);
        let all = self
            .gpu
            .stream()
            .clone_dtoh(&self.scores)
            .map_err(driver_err("cuMemcpyDtoH"))?;
        let at = (h * nb + qb) * nb;
        Ok(all[at..at + nb].to_vec())
    }

    /// Gives up the builder, keeping the block CSR for the attention kernel.
    pub fn into_index(self) -> BlockCsrArgs {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_bounds_blocks_and_columns_per_row_block() {
        // 200 tokens = 4 row blocks; 3 slashes, 100 verticals.
        let (blk, col) = vs_capacity(2, 200, 100, 3).unwrap();
        // blocks: min(3, rb + 1) = 1, 2, 3, 3 per head; columns: min(100, 64, 128, 192, 200).
        assert_eq!(blk, vec![0, 1, 3, 6, 9, 10, 12, 15, 18]);
        assert_eq!(col, vec![0, 64, 164, 264, 364, 428, 528, 628, 728]);
    }

    #[test]
    fn topk_rows_keep_k_or_every_visible_block() {
        assert_eq!(topk_offsets(1, 4, 2, true).unwrap(), vec![0, 1, 3, 5, 7]);
        assert_eq!(topk_offsets(2, 3, 5, false).unwrap(), vec![0, 3, 6, 9, 12, 15, 18]);
    }
}
