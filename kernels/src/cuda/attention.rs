//! Launcher of the attention forward kernels (`kernels/cuda/attention.cu`): the
//! parameter checks, the launch configuration (a pure function, tested without a
//! GPU) and the only code that launches them.

use super::device::{driver_err, Gpu};
use super::elem::ElemType;
use super::sources::{KernelSource, ATTENTION};
use super::tma::{encode_rows, TmaMap};
use crate::error::{KernelError, Result};
use crate::mask::{BlockSparseMask, KeyPlan, Mask, MaskFormat, REFERENCE_TILE};
use crate::reference::AttentionOutput;
use cudarc::driver::{sys, CudaFunction, CudaSlice, DevicePtr, LaunchArgs, LaunchConfig, PushKernelArg};
use sparselab_workloads::{HeadTensor, Workload};

/// How a block's query rows are split. The mma.sync tiles (every GPU): `warps`
/// warps, each owning `slabs` slabs of 16 rows (a block covers `16 * slabs * warps`
/// rows); two slabs per warp reuse each K/V fragment read from shared memory twice,
/// at the cost of registers. The wgmma tiles (Hopper, sm_90a only): `warps / 4`
/// warpgroups of 64 rows sharing a ring of `stages` K/V tiles of `key_tile` keys
/// (`kernels/cuda/attention_wgmma.cuh`); the persistent one adds a producer warpgroup that
/// loads them with TMA, on a grid of one block per SM (`kernels/cuda/attention_ws.cuh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileConfig {
    /// Warps per block.
    pub warps: usize,
    /// 16-row slabs per warp.
    pub slabs: usize,
    /// Warpgroup matrix products (wgmma, sm_90a) instead of mma.sync.
    pub wgmma: bool,
    /// Keys per K/V tile: 64, or 128 (wgmma tiles of the dense and block-sparse kernels).
    pub key_tile: usize,
    /// K/V tiles resident in shared memory at once.
    pub stages: usize,
    /// Warp-specialized and persistent (wgmma tiles): one block per SM claims
    /// (head, query block) items; a producer warpgroup (the last four of `warps`) issues
    /// TMA copies from one thread and stores the output from two warps.
    pub persistent: bool,
}

impl TileConfig {
    /// 64-row blocks, 4 warps of 16 rows.
    pub const W4: Self = Self::sync(4, 1);
    /// 128-row blocks, 8 warps of 16 rows.
    pub const W8: Self = Self::sync(8, 1);
    /// 128-row blocks, 4 warps of 32 rows.
    pub const W4M2: Self = Self::sync(4, 2);
    /// 64-row blocks, 2 warps of 32 rows: the K/V fragment reuse of W4M2 at the
    /// 64-row granularity of MInference's formats.
    pub const W2M2: Self = Self::sync(2, 2);
    /// Hopper: 64-row blocks, one warpgroup (wgmma), two stages of 64 keys, two blocks per SM.
    pub const G1: Self = Self::wg(4, 64, 2);
    /// Hopper: 128-row blocks, two warpgroups (wgmma) sharing three stages of 64 keys.
    pub const G2: Self = Self::wg(8, 64, 3);
    /// Hopper: 128-row blocks, two warpgroups over two stages of 128-key tiles (half the
    /// barriers and softmax passes per key of G2); dense and block-sparse (block 128) only.
    /// On the H100 at 16k tokens 10% faster than G2 dense, 15% at block-sparse 5-50%
    /// (results/h100-fp16-g2k-2026-11-23; a third stage gained under 1% and was dropped).
    pub const G2K: Self = Self::wg(8, 128, 2);
    /// Hopper: G2K's two warpgroups and 128-key tiles, warp-specialized (a third
    /// warpgroup loads Q, K and V with TMA and gives its registers to the other two) on a
    /// persistent grid of one block per SM, so a block's next query block loads while it
    /// finishes the current one, and the two warpgroups take turns at the tensor cores
    /// (FlashAttention-3's structure); dense and block-sparse (block 128) only.
    pub const G2W: Self = Self {
        warps: 12,
        persistent: true,
        ..Self::G2K
    };
    /// Every configuration compiled in `attention.cu`.
    pub const ALL: [Self; 8] = [
        Self::W4,
        Self::W8,
        Self::W4M2,
        Self::W2M2,
        Self::G1,
        Self::G2,
        Self::G2K,
        Self::G2W,
    ];
    /// The labels of [`Self::ALL`], for messages.
    pub const LABELS: &'static str = "w4m1, w8m1, w4m2, w2m2, g1, g2, g2k or g2w (g1/g2/g2k/g2w: Hopper only)";

    const fn sync(warps: usize, slabs: usize) -> Self {
        Self {
            warps,
            slabs,
            wgmma: false,
            key_tile: 64,
            stages: 1,
            persistent: false,
        }
    }

    const fn wg(warps: usize, key_tile: usize, stages: usize) -> Self {
        Self {
            warps,
            slabs: 1,
            wgmma: true,
            key_tile,
            stages,
            persistent: false,
        }
    }

    /// Warpgroups that compute (wgmma tiles): all of them, or all but the producer of a
    /// persistent tile.
    fn computing_warpgroups(&self) -> usize {
        self.warps / 4 - usize::from(self.persistent)
    }
    /// Query rows per block (per work item of a persistent tile): 64 per computing
    /// warpgroup of a wgmma tile.
    pub fn rows(&self) -> usize {
        if self.wgmma {
            64 * self.computing_warpgroups()
        } else {
            16 * self.slabs * self.warps
        }
    }
    /// Short label, e.g. `w4m2`, `g2` or `g2k` (128-key tiles).
    pub fn label(&self) -> String {
        if self.wgmma {
            self.kernel_tag()
        } else {
            format!("w{}m{}", self.warps, self.slabs)
        }
    }
    /// The tile's part of exported kernel names, e.g. `w4_m2`, `g2` or `g2k`.
    pub fn kernel_tag(&self) -> String {
        if self.persistent {
            format!("g{}w", self.computing_warpgroups())
        } else if self.wgmma {
            let keys = if self.key_tile == 128 { "k" } else { "" };
            format!("g{}{keys}", self.computing_warpgroups())
        } else {
            format!("w{}_m{}", self.warps, self.slabs)
        }
    }
    /// The configuration labelled `label` (see [`Self::label`]).
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.label() == label)
    }
    /// K/V tiles resident in shared memory at once.
    pub fn kv_stages(&self) -> usize {
        self.stages
    }
    /// Dynamic shared memory of one block: the Q tile and `stages` K and V tiles of
    /// `key_tile` keys, 2 bytes an element; the wgmma tiles add 1 KB to align tiles to 1024
    /// bytes; a persistent tile holds two Q tiles and 256 bytes of mbarriers and slots.
    pub fn shared_bytes(&self, head_dim: usize) -> u32 {
        let q_tiles = if self.persistent { 2 } else { 1 };
        let tiles = (q_tiles * self.rows() + 2 * self.stages * self.key_tile) * head_dim * 2;
        let extra = match (self.wgmma, self.persistent) {
            (_, true) => 1024 + 256,
            (true, false) => 1024,
            (false, false) => 0,
        };
        (tiles + extra) as u32
    }
    /// Whether the tile runs on a GPU compiled for `arch` (e.g. `sm_90a`): the wgmma
    /// tiles need Hopper's architecture-specific target.
    pub fn runs_on(&self, arch: &str) -> bool {
        !self.wgmma || arch == "sm_90a"
    }
    /// The configuration for `rows`-row blocks (64 or 128), preferring two slabs per warp.
    pub fn for_rows(rows: usize) -> Option<Self> {
        match rows {
            64 => Some(Self::W4),
            128 => Some(Self::W4M2),
            _ => None,
        }
    }
    /// The fastest configuration of the dense and block-sparse kernels for `rows`-row
    /// blocks on a GPU compiled for `arch`: on Hopper the wgmma tiles (G1 for 64 rows, G2W
    /// for 128), else [`Self::for_rows`]. The vertical-slash and streaming launchers map it
    /// to their 64-key family ([`Self::G1`] / [`Self::G2`]).
    pub fn best_for_rows(rows: usize, arch: &str) -> Option<Self> {
        let wgmma = match rows {
            64 => Some(Self::G1),
            128 => Some(Self::G2W),
            _ => None,
        };
        wgmma.filter(|t| t.runs_on(arch)).or_else(|| Self::for_rows(rows))
    }
    /// The same family (wgmma or mma.sync) as `self` for `rows`-row blocks (`self` when
    /// its rows are `rows`).
    pub fn like_for_rows(&self, rows: usize) -> Option<Self> {
        if self.rows() == rows {
            return Some(*self);
        }
        match (self.wgmma, rows) {
            (true, 64) => Some(Self::G1),
            (true, 128) => Some(Self::G2),
            _ => Self::for_rows(rows),
        }
    }
}

/// Shape of one attention call. Batch is folded into `heads` (as in
/// [`Workload`]): Q/O are `[heads, seq_len, head_dim]`, K/V `[kv_heads, seq_len, head_dim]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionParams {
    /// Query heads (times batch).
    pub heads: usize,
    /// Key/value heads; `heads` must be a multiple (GQA ratio = heads / kv_heads).
    pub kv_heads: usize,
    /// Tokens.
    pub seq_len: usize,
    /// 64 or 128.
    pub head_dim: usize,
    /// Keys after the query are masked.
    pub causal: bool,
    /// Warps and rows per warp of a block (one of [`TileConfig::ALL`]).
    pub tile: TileConfig,
    /// Element type of Q, K, V and the output (bf16 or fp16; fp32 accumulation either way).
    pub elem: ElemType,
}

/// Which keys the kernel visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseLayout {
    /// Every key tile (up to the diagonal when causal).
    Dense,
    /// Per (head, query block) lists of key blocks of `block` tokens; the query
    /// block equals the kernel's (`block == tile.rows()`).
    Block {
        /// 64 or 128.
        block: usize,
    },
}

/// Grid, block and shared memory of one launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    /// Exported kernel name in `attention.cu`.
    pub kernel: String,
    /// (query blocks, heads, 1); for a persistent tile (work items = query blocks x
    /// heads, 1, 1), which [`LaunchPlan::on_sms`] caps at one block per SM.
    pub grid: (u32, u32, u32),
    /// (32 * tile.warps, 1, 1).
    pub block: (u32, u32, u32),
    /// Dynamic shared memory ([`TileConfig::shared_bytes`]).
    pub shared_bytes: u32,
}

impl AttentionParams {
    /// Checks the shape against what the kernels support.
    pub fn validate(&self) -> Result<()> {
        let unsupported = |param: &'static str, value: usize, expected: &str| KernelError::Unsupported {
            param,
            value: value.to_string(),
            expected: expected.to_string(),
        };
        if self.head_dim != 64 && self.head_dim != 128 {
            return Err(unsupported("head_dim", self.head_dim, "64 or 128"));
        }
        if !TileConfig::ALL.contains(&self.tile) {
            return Err(KernelError::Unsupported {
                param: "tile",
                value: self.tile.label(),
                expected: TileConfig::LABELS.to_string(),
            });
        }
        if self.kv_heads == 0 || self.heads == 0 || self.heads % self.kv_heads != 0 {
            return Err(unsupported(
                "kv_heads",
                self.kv_heads,
                &format!("a positive divisor of heads = {}", self.heads),
            ));
        }
        if self.seq_len == 0 || self.seq_len > i32::MAX as usize / 2 {
            return Err(unsupported("seq_len", self.seq_len, "between 1 and 2^30"));
        }
        if self.heads > 65_535 {
            return Err(unsupported("heads", self.heads, "at most 65535 (grid y)"));
        }
        Ok(())
    }

    /// These parameters with `tile` in place of the requested one, checked, for a kernel of a causal
    /// mask `format` (vertical-slash, streaming): non-causal attention is an error naming the format.
    pub fn for_causal_kernel(&self, tile: TileConfig, format: &str) -> Result<Self> {
        let p = Self { tile, ..*self };
        p.validate()?;
        if !p.causal {
            return Err(KernelError::Unsupported {
                param: "causal",
                value: "false".to_string(),
                expected: format!("true ({format} masks are causal)"),
            });
        }
        Ok(p)
    }

    /// Query rows per block.
    pub fn block_rows(&self) -> usize {
        self.tile.rows()
    }

    /// Matrix FLOPs of dense attention (4 * heads * L^2 * D; halved when causal), the
    /// usual convention for TFLOP/s.
    pub fn dense_flops(&self) -> f64 {
        let full = 4.0 * self.heads as f64 * (self.seq_len as f64).powi(2) * self.head_dim as f64;
        if self.causal {
            full / 2.0
        } else {
            full
        }
    }
}

/// The launch configuration of `p` over `layout` (pure: no GPU needed).
pub fn plan_launch(p: &AttentionParams, layout: SparseLayout) -> Result<LaunchPlan> {
    p.validate()?;
    let family = match layout {
        SparseLayout::Dense => "dense",
        SparseLayout::Block { block } => {
            if block != p.block_rows() {
                return Err(KernelError::Unsupported {
                    param: "block",
                    value: block.to_string(),
                    expected: format!(
                        "{} (the rows of tile {}); use 64 or 128",
                        p.block_rows(),
                        p.tile.label()
                    ),
                });
            }
            "bsr"
        }
    };
    let kind = if p.causal { "causal" } else { "full" };
    let rows = p.block_rows();
    let q_blocks = p.seq_len.div_ceil(rows);
    let grid = if p.tile.persistent {
        ((q_blocks * p.heads) as u32, 1, 1)
    } else {
        (q_blocks as u32, p.heads as u32, 1)
    };
    Ok(LaunchPlan {
        kernel: format!("attn_fwd_{family}_d{}_{}_{kind}", p.head_dim, p.tile.kernel_tag()),
        grid,
        block: (32 * p.tile.warps as u32, 1, 1),
        shared_bytes: p.tile.shared_bytes(p.head_dim),
    })
}

impl LaunchPlan {
    /// The plan on a GPU of `sms` multiprocessors: a persistent tile's grid (its work
    /// items) capped at one block per SM; other tiles unchanged.
    pub fn on_sms(mut self, tile: &TileConfig, sms: usize) -> Self {
        if tile.persistent {
            self.grid.0 = self.grid.0.min(sms.max(1) as u32);
        }
        self
    }
}

/// The CSR form of a block mask: offsets `[heads * query blocks + 1]` and key blocks.
pub fn block_csr(mask: &BlockSparseMask) -> (Vec<u32>, Vec<u32>) {
    let nb = mask.num_blocks();
    let mut offsets = Vec::with_capacity(mask.heads() * nb + 1);
    let mut blocks = Vec::new();
    offsets.push(0u32);
    for h in 0..mask.heads() {
        for qb in 0..nb {
            blocks.extend_from_slice(mask.key_blocks(h, qb));
            offsets.push(blocks.len() as u32);
        }
    }
    (offsets, blocks)
}

/// The kernel arguments a sparse format adds between `LSE` and `L` in every
/// attention kernel's signature (e.g. the CSR arrays of a block mask). Each
/// format's launcher implements it for its device-side index.
pub trait MaskArgs {
    /// Pushes the arguments, in the kernel's order.
    fn push<'a>(&'a self, b: &mut LaunchArgs<'a>);
}

/// A block mask in CSR form on the device: offsets `[heads * query blocks + 1]` and key
/// blocks. The block size is not passed: `plan_launch` requires it to equal the tile's
/// query rows, which the kernel knows at compile time.
pub struct BlockCsrArgs {
    /// Row starts into `blocks`.
    pub offsets: CudaSlice<u32>,
    /// Key block indices, sorted per row.
    pub blocks: CudaSlice<u32>,
}

impl MaskArgs for BlockCsrArgs {
    fn push<'a>(&'a self, b: &mut LaunchArgs<'a>) {
        b.arg(&self.offsets).arg(&self.blocks);
    }
}

impl BlockCsrArgs {
    /// Uploads `mask` in CSR form.
    pub fn upload(gpu: &Gpu, mask: &BlockSparseMask) -> Result<Self> {
        let (offsets, mut blocks) = block_csr(mask);
        if blocks.is_empty() {
            blocks.push(0); // a zero-length allocation is not allowed; never read
        }
        let s = gpu.stream();
        Ok(Self {
            offsets: s.clone_htod(&offsets).map_err(driver_err("cuMemcpyHtoD"))?,
            blocks: s.clone_htod(&blocks).map_err(driver_err("cuMemcpyHtoD"))?,
        })
    }
}

/// The arguments a persistent tile's kernel takes after the common ones: the TMA
/// descriptors of Q, K and V, and its work counter (claimed items, blocks done), zero
/// at every launch (the last block of a launch resets it).
struct PersistentArgs {
    q: TmaMap,
    k: TmaMap,
    v: TmaMap,
    sched: CudaSlice<u32>,
}

/// Device buffers and the compiled function of one attention shape: upload once,
/// launch (or time) many times, read back.
pub struct AttentionRun<'g> {
    gpu: &'g Gpu,
    params: AttentionParams,
    plan: LaunchPlan,
    func: CudaFunction,
    q: CudaSlice<u16>,
    k: CudaSlice<u16>,
    v: CudaSlice<u16>,
    o: CudaSlice<u16>,
    lse: CudaSlice<f32>,
    mask_args: Option<Box<dyn MaskArgs>>,
    persistent: Option<PersistentArgs>,
}

impl<'g> AttentionRun<'g> {
    /// Uploads Q/K/V (bit patterns of `params.elem`, shapes as in [`AttentionParams`])
    /// and, for a block-sparse run, the mask in CSR form.
    pub fn new(
        gpu: &'g Gpu,
        params: AttentionParams,
        q: &[u16],
        k: &[u16],
        v: &[u16],
        sparse: Option<&BlockSparseMask>,
    ) -> Result<Self> {
        let layout = match sparse {
            None => SparseLayout::Dense,
            Some(m) => SparseLayout::Block { block: m.block() },
        };
        let plan = plan_launch(&params, layout)?;
        if let Some(m) = sparse {
            if m.heads() != params.heads || m.seq_len() != params.seq_len || m.causal() != params.causal {
                return Err(KernelError::MaskMismatch {
                    problem: format!(
                        "block mask is {} heads x {} tokens (causal {}), the run {} x {} (causal {})",
                        m.heads(),
                        m.seq_len(),
                        m.causal(),
                        params.heads,
                        params.seq_len,
                        params.causal
                    ),
                });
            }
        }
        let args = match sparse {
            None => None,
            Some(m) => Some(Box::new(BlockCsrArgs::upload(gpu, m)?) as Box<dyn MaskArgs>),
        };
        Self::with_plan(gpu, params, plan, &ATTENTION, q, k, v, args)
    }

    /// Uploads Q/K/V (bit patterns of `params.elem`) for the kernel `plan.kernel` of
    /// `source` (compiled for `params.elem`), which takes
    /// `mask_args` between `LSE` and `L` (none for dense). The other launchers
    /// (vertical-slash, streaming) build their plan and arguments and call this.
    #[allow(clippy::too_many_arguments)]
    pub fn with_plan(
        gpu: &'g Gpu,
        params: AttentionParams,
        plan: LaunchPlan,
        source: &KernelSource,
        q: &[u16],
        k: &[u16],
        v: &[u16],
        mask_args: Option<Box<dyn MaskArgs>>,
    ) -> Result<Self> {
        params.validate()?;
        if params.tile.persistent && source.name != ATTENTION.name {
            return Err(KernelError::Unsupported {
                param: "tile",
                value: params.tile.label(),
                expected: format!(
                    "a tile of {}'s kernels (the persistent tiles are dense and block-sparse only)",
                    source.name
                ),
            });
        }
        let plan = plan.on_sms(&params.tile, gpu.sms());
        if !params.tile.runs_on(&gpu.arch()) {
            return Err(KernelError::Unsupported {
                param: "tile",
                value: params.tile.label(),
                expected: format!(
                    "an mma.sync tile (w4m1, w8m1, w4m2, w2m2) on {} ({}): the wgmma tiles need a Hopper GPU (sm_90a)",
                    gpu.name(),
                    gpu.arch()
                ),
            });
        }
        let nq = params.heads * params.seq_len * params.head_dim;
        let nkv = params.kv_heads * params.seq_len * params.head_dim;
        for (name, len, want) in [("q", q.len(), nq), ("k", k.len(), nkv), ("v", v.len(), nkv)] {
            if len != want {
                return Err(KernelError::Unsupported {
                    param: "tensor length",
                    value: format!("{name}: {len}"),
                    expected: format!("{want} elements"),
                });
            }
        }
        let func = gpu.function(&source.with_elem(params.elem), &plan.kernel)?;
        func.set_attribute(
            sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            plan.shared_bytes as i32,
        )
        .map_err(driver_err("cuFuncSetAttribute"))?;
        let s = gpu.stream();
        let up = |x: &[u16]| s.clone_htod(x).map_err(driver_err("cuMemcpyHtoD"));
        let (q, k, v) = (up(q)?, up(k)?, up(v)?);
        let o = s.alloc_zeros::<u16>(nq).map_err(driver_err("cuMemAlloc"))?;
        let lse = s
            .alloc_zeros::<f32>(params.heads * params.seq_len)
            .map_err(driver_err("cuMemAlloc"))?;
        let persistent = if params.tile.persistent {
            let rows = params.tile.rows() as u32;
            let (l, d) = (params.seq_len, params.head_dim);
            let map = |x: &CudaSlice<u16>, heads: usize| {
                let (ptr, _sync) = x.device_ptr(s);
                encode_rows(ptr, heads, l, d, rows)
            };
            Some(PersistentArgs {
                q: map(&q, params.heads)?,
                k: map(&k, params.kv_heads)?,
                v: map(&v, params.kv_heads)?,
                sched: s.alloc_zeros::<u32>(2).map_err(driver_err("cuMemAlloc"))?,
            })
        } else {
            None
        };
        Ok(Self {
            gpu,
            params,
            plan,
            func,
            q,
            k,
            v,
            o,
            lse,
            mask_args,
            persistent,
        })
    }

    /// The launch configuration in use.
    pub fn plan(&self) -> &LaunchPlan {
        &self.plan
    }

    /// The shape in use (the launchers may have picked the tile).
    pub fn params(&self) -> &AttentionParams {
        &self.params
    }

    /// Fills the outputs with NaN so a test sees any element the kernel did not write.
    pub fn poison_outputs(&mut self) -> Result<()> {
        let s = self.gpu.stream();
        let nan_elem = vec![self.params.elem.nan_bits(); self.o.len()];
        let nan_f32 = vec![f32::NAN; self.lse.len()];
        s.memcpy_htod(&nan_elem, &mut self.o)
            .map_err(driver_err("cuMemcpyHtoD"))?;
        s.memcpy_htod(&nan_f32, &mut self.lse)
            .map_err(driver_err("cuMemcpyHtoD"))?;
        Ok(())
    }

    /// Enqueues one launch on the handle's stream.
    pub fn launch(&mut self) -> Result<()> {
        let p = &self.params;
        let cfg = LaunchConfig {
            grid_dim: self.plan.grid,
            block_dim: self.plan.block,
            shared_mem_bytes: self.plan.shared_bytes,
        };
        let l = p.seq_len as i32;
        let heads = p.heads as i32;
        let kv_heads = p.kv_heads as i32;
        let scale_log2 = (1.0 / (p.head_dim as f64).sqrt() * std::f64::consts::LOG2_E) as f32;
        let stream = self.gpu.stream().clone();
        let mut b = stream.launch_builder(&self.func);
        b.arg(&self.q)
            .arg(&self.k)
            .arg(&self.v)
            .arg(&mut self.o)
            .arg(&mut self.lse);
        if let Some(args) = &self.mask_args {
            args.push(&mut b);
        }
        b.arg(&l).arg(&heads).arg(&kv_heads).arg(&scale_log2);
        if let Some(pa) = &mut self.persistent {
            b.arg(&pa.q).arg(&pa.k).arg(&pa.v).arg(&mut pa.sched);
        }
        // SAFETY: argument list matches the kernel signature of `plan.kernel` (checked by
        // the GPU tests); buffer sizes were checked in `with_plan` and by the MaskArgs' builders.
        unsafe { b.launch(cfg) }.map_err(driver_err("cuLaunchKernel"))?;
        Ok(())
    }

    /// Times `iters` launches after `warmup` untimed ones, each between two CUDA
    /// events ([`Gpu::time_ms`]); returns milliseconds per launch.
    pub fn time_ms(&mut self, warmup: usize, iters: usize) -> Result<Vec<f32>> {
        let gpu = self.gpu;
        gpu.time_ms(warmup, iters, || self.launch())
    }

    /// Launches back to back for about `ms` milliseconds ([`Gpu::sustain`]).
    pub fn sustain(&mut self, ms: f64) -> Result<()> {
        let gpu = self.gpu;
        gpu.sustain(ms, || self.launch())
    }

    /// Waits for the stream and copies out the output (as f32) and the natural-log lse.
    pub fn read(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let s = self.gpu.stream();
        s.synchronize().map_err(driver_err("cuStreamSynchronize"))?;
        let o = s.clone_dtoh(&self.o).map_err(driver_err("cuMemcpyDtoH"))?;
        let lse = s.clone_dtoh(&self.lse).map_err(driver_err("cuMemcpyDtoH"))?;
        let elem = self.params.elem;
        Ok((o.into_iter().map(|b| elem.to_f32(b)).collect(), lse))
    }
}

/// Keys each row keeps under `mask`, `[heads, seq]`: closed forms for dense and
/// block masks, the mask's own plan and keep rule for the other formats.
fn kept_counts(mask: &Mask, heads: usize, l: usize) -> Vec<u32> {
    let mut kept = Vec::with_capacity(heads * l);
    let mut plan = KeyPlan::default();
    let mut keys = Vec::new();
    for h in 0..heads {
        for q in 0..l {
            let n = match mask {
                Mask::Dense(_) if mask.causal() => q + 1,
                Mask::Dense(_) => l,
                Mask::BlockSparse(m) => m
                    .key_blocks(h, q / m.block())
                    .iter()
                    .map(|&b| {
                        let start = b as usize * m.block();
                        let mut end = (start + m.block()).min(l);
                        if m.causal() {
                            end = end.min(q + 1);
                        }
                        end.saturating_sub(start)
                    })
                    .sum(),
                other => {
                    if q % REFERENCE_TILE == 0 {
                        plan.clear();
                        other.plan_rows(h, q, (q + REFERENCE_TILE).min(l), &mut plan);
                        keys.clear();
                        plan.keys_into(&mut keys);
                    }
                    keys.iter().filter(|&&k| other.keeps(h, q, k as usize)).count()
                }
            };
            kept.push(n as u32);
        }
    }
    kept
}

/// Runs attention of `w` under `mask` on `gpu` with inputs of type `elem` (bf16 or
/// fp16) and fp32 accumulation; returns the CPU reference's output type. Dense, block-sparse,
/// vertical-slash and streaming masks have kernels; other formats are an error.
/// `tile` picks the dense and streaming kernels' block; for a block mask it is used
/// when its rows equal the mask's block, else [`TileConfig::like_for_rows`] decides;
/// vertical-slash always runs 64-row blocks (the format's): w2m2 when asked, g1 for a
/// wgmma tile, else w4m1.
pub fn gpu_attention(
    gpu: &Gpu,
    w: &Workload,
    mask: &Mask,
    tile: TileConfig,
    elem: ElemType,
) -> Result<AttentionOutput> {
    mask.check_fits(w.heads(), w.seq_len(), mask.causal())?;
    let params = AttentionParams {
        heads: w.heads(),
        kv_heads: w.kv_heads(),
        seq_len: w.seq_len(),
        head_dim: w.head_dim(),
        causal: mask.causal(),
        tile,
        elem,
    };
    let (q, k, v) = (
        elem.to_bits("q", w.q().data())?,
        elem.to_bits("k", w.k().data())?,
        elem.to_bits("v", w.v().data())?,
    );
    let mut run = match mask {
        Mask::Dense(_) => AttentionRun::new(gpu, params, &q, &k, &v, None)?,
        Mask::BlockSparse(m) => {
            let tile = if tile.rows() == m.block() {
                tile
            } else {
                tile.like_for_rows(m.block()).ok_or_else(|| KernelError::Unsupported {
                    param: "block",
                    value: m.block().to_string(),
                    expected: "64 or 128".to_string(),
                })?
            };
            AttentionRun::new(gpu, AttentionParams { tile, ..params }, &q, &k, &v, Some(m))?
        }
        Mask::VerticalSlash(m) => super::vertical_slash::vs_run(gpu, params, &q, &k, &v, m)?,
        Mask::Streaming(m) => super::streaming::streaming_run(gpu, params, &q, &k, &v, m)?,
        other => {
            return Err(KernelError::Unsupported {
                param: "mask format",
                value: other.format_name().to_string(),
                expected: "dense, block-sparse, vertical-slash or streaming (the formats with GPU kernels)".to_string(),
            })
        }
    };
    let params = run.params;
    run.poison_outputs()?;
    run.launch()?;
    let (out, lse) = run.read()?;
    let out = HeadTensor::new(
        "gpu attention output",
        params.heads,
        params.seq_len,
        params.head_dim,
        out,
    )?;
    Ok(AttentionOutput {
        out,
        lse: lse.into_iter().map(f64::from).collect(),
        kept: kept_counts(mask, params.heads, params.seq_len),
        block_lse: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> AttentionParams {
        AttentionParams {
            heads: 32,
            kv_heads: 8,
            seq_len: 1000,
            head_dim: 128,
            causal: true,
            tile: TileConfig::W8,
            elem: ElemType::Bf16,
        }
    }

    #[test]
    fn persistent_plan_has_one_block_per_sm_at_most() {
        let p = AttentionParams {
            tile: TileConfig::G2W,
            causal: false,
            ..params()
        };
        let plan = plan_launch(&p, SparseLayout::Block { block: 128 }).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_bsr_d128_g2w_full");
        assert_eq!(plan.grid, (8 * 32, 1, 1)); // work items: query blocks x heads
        assert_eq!(plan.block, (384, 1, 1)); // two consumer warpgroups and a producer warpgroup
        assert_eq!(plan.shared_bytes, (2 * 128 + 2 * 2 * 128) * 128 * 2 + 1024 + 256);
        assert_eq!(plan.clone().on_sms(&p.tile, 132).grid, (132, 1, 1));
        assert_eq!(plan.on_sms(&p.tile, 1000).grid, (256, 1, 1));
        // Other tiles keep their grid.
        let g2k = plan_launch(&params(), SparseLayout::Dense).unwrap();
        assert_eq!(g2k.clone().on_sms(&TileConfig::W8, 4), g2k);
        assert_eq!(TileConfig::G2W.rows(), 128);
        assert_eq!(TileConfig::G2W.label(), "g2w");
        assert_eq!(TileConfig::from_label("g2w"), Some(TileConfig::G2W));
    }

    #[test]
    fn plan_covers_ragged_sequences() {
        let plan = plan_launch(&params(), SparseLayout::Dense).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_dense_d128_w8_m1_causal");
        assert_eq!(plan.grid, (8, 32, 1)); // ceil(1000 / 128)
        assert_eq!(plan.block, (256, 1, 1));
        assert_eq!(plan.shared_bytes, (128 + 128) * 128 * 2);
    }

    #[test]
    fn plan_rejects_unsupported_shapes() {
        let mut p = params();
        p.head_dim = 96;
        let e = plan_launch(&p, SparseLayout::Dense).unwrap_err().to_string();
        assert!(e.contains("head_dim = 96") && e.contains("64 or 128"), "{e}");
        let mut p = params();
        p.kv_heads = 5;
        assert!(plan_launch(&p, SparseLayout::Dense).is_err());
        let e = plan_launch(&params(), SparseLayout::Block { block: 64 })
            .unwrap_err()
            .to_string();
        assert!(e.contains("block = 64"), "{e}");
        let p = AttentionParams {
            tile: TileConfig::W4,
            ..params()
        };
        let plan = plan_launch(&p, SparseLayout::Block { block: 64 }).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_bsr_d128_w4_m1_causal");
        assert_eq!(plan.grid.0, 16);
        let p = AttentionParams {
            tile: TileConfig::W4M2,
            ..params()
        };
        let plan = plan_launch(&p, SparseLayout::Block { block: 128 }).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_bsr_d128_w4_m2_causal");
        assert_eq!((plan.grid.0, plan.block.0), (8, 128));
        let bad = AttentionParams {
            tile: TileConfig {
                warps: 2,
                slabs: 1,
                wgmma: false,
                key_tile: 64,
                stages: 1,
                persistent: false,
            },
            ..params()
        };
        assert!(plan_launch(&bad, SparseLayout::Dense).is_err());
    }

    #[test]
    fn wgmma_tiles_name_their_kernels_and_shared_memory() {
        let p = AttentionParams {
            tile: TileConfig::G2,
            causal: false,
            ..params()
        };
        let plan = plan_launch(&p, SparseLayout::Dense).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_dense_d128_g2_full");
        assert_eq!(plan.block, (256, 1, 1));
        // Q (128 rows) + 3 stages of K and V (64 keys) at 256 bytes a row, + 1 KB alignment slack.
        assert_eq!(plan.shared_bytes, (128 + 6 * 64) * 256 + 1024);
        let p = AttentionParams {
            tile: TileConfig::G1,
            ..params()
        };
        let plan = plan_launch(&p, SparseLayout::Block { block: 64 }).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_bsr_d128_g1_causal");
        assert_eq!((plan.grid.0, plan.block.0), (16, 128));
        assert_eq!(plan.shared_bytes, (64 + 4 * 64) * 256 + 1024);
        for t in TileConfig::ALL {
            assert_eq!(TileConfig::from_label(&t.label()), Some(t));
            assert!(t.runs_on("sm_90a"));
            assert_eq!(t.runs_on("sm_80"), !t.wgmma);
        }
        assert_eq!(TileConfig::best_for_rows(64, "sm_90a"), Some(TileConfig::G1));
        assert_eq!(TileConfig::best_for_rows(128, "sm_86"), Some(TileConfig::W4M2));
        assert_eq!(TileConfig::G1.like_for_rows(128), Some(TileConfig::G2));
        // 128-key tiles: Q (128 rows) + 2 stages of K and V (128 keys), + 1 KB.
        let p = AttentionParams {
            tile: TileConfig::G2K,
            ..params()
        };
        let plan = plan_launch(&p, SparseLayout::Block { block: 128 }).unwrap();
        assert_eq!(plan.kernel, "attn_fwd_bsr_d128_g2k_causal");
        assert_eq!(plan.shared_bytes, (128 + 4 * 128) * 256 + 1024);
        assert_eq!(TileConfig::G2K.label(), "g2k");
        assert_eq!(TileConfig::G2K.like_for_rows(64), Some(TileConfig::G1));
        assert_eq!(TileConfig::best_for_rows(128, "sm_90a"), Some(TileConfig::G2W));
    }

    #[test]
    fn flops_halve_when_causal() {
        let p = params();
        let full = AttentionParams { causal: false, ..p };
        assert_eq!(p.dense_flops() * 2.0, full.dense_flops());
    }
}
