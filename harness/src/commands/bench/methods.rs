//! The methods `sparselab bench --methods` times, and how each is measured: the
//! index building on the GPU (CUDA events around all of its kernels, apart from the
//! attention kernel) and the attention kernel over that index.
//!
//! | method | mask | index built | kernel |
//! |---|---|---|---|
//! | `dense` | none | - | dense, each `--tiles` configuration |
//! | `block-sparse` | random 128-token blocks at each `--densities` | given | block-sparse, w4m2 |
//! | `vertical-slash[:v=..,s=..]` | MInference's estimate from the last 64 queries (causal) | GPU | vertical-slash, w4m1 and w2m2 |
//! | `vertical-slash-local[:v=..,s=..]` | given: the `s` most local diagonals and `v` evenly spread columns (the pattern of MInference's own kernel timings, REFERENCE.md §1) | given | vertical-slash, w4m1 and w2m2 |
//! | `a-shape[:sink=..,local=..]` | sink + window (causal) | given | streaming, w4m1 |
//! | `block-topk[:k=..,block=..]` | pooled scores, top-k blocks per query block | GPU | block-sparse, w4m1 and w2m2 (64) / w4m2 (128) |

use anyhow::{bail, Result};
use sparselab_kernels::cuda::attention::block_csr;
use sparselab_kernels::cuda::streaming::streaming_run;
use sparselab_kernels::cuda::vertical_slash::{vs_host_index, vs_run_with_index, VsHostIndex, VsIndexArgs};
use sparselab_kernels::cuda::{AttentionParams, AttentionRun, BlockTopKBuilder, Gpu, TileConfig, VsIndexBuilder};
use sparselab_kernels::mask::{
    attended_pairs, BlockSparseMask, MaskFormat, StreamingMask, VerticalSlashMask, VS_BLOCK,
};
use sparselab_kernels::method::{AShape, BlockTopK, MethodSpec, Params, VerticalSlash};
use sparselab_workloads::SeededRng;

use super::masks::{MaskMeta, MaskWriter};

/// One entry of `--methods`.
#[derive(Debug)]
pub enum BenchMethod {
    /// Dense attention, each tile configuration.
    Dense,
    /// Random block masks at the `--densities`.
    RandomBlocks,
    /// MInference's vertical-slash with GPU index building.
    VerticalSlash(VerticalSlash),
    /// Vertical-slash over a given index: the most local diagonals, spread columns.
    VerticalSlashLocal(VerticalSlash),
    /// Sink + local window.
    AShape(AShape),
    /// Pooled block scores, top-k, with GPU index building.
    BlockTopK(BlockTopK),
}

/// Names `--methods` accepts.
pub const KNOWN: &str = "dense, block-sparse, vertical-slash, vertical-slash-local, a-shape, block-topk";

/// Parses `dense,vertical-slash:v=1000,s=6096,block-topk`: a segment with `=` and no
/// `:` continues the previous method's parameters.
pub fn parse_bench_methods(list: &str) -> Result<Vec<BenchMethod>> {
    let mut specs: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match specs.last_mut() {
            Some(last) if part.contains('=') && !part.contains(':') => {
                last.push(',');
                last.push_str(part);
            }
            _ => specs.push(part.to_string()),
        }
    }
    if specs.is_empty() {
        bail!("--methods is empty; expected some of {KNOWN}");
    }
    specs
        .iter()
        .map(|s| {
            let spec = MethodSpec::parse(s)?;
            let no_params = |m: BenchMethod| {
                if spec.params.is_empty() {
                    Ok(m)
                } else {
                    bail!("--methods {s}: `{}` takes no parameters", spec.name)
                }
            };
            match spec.name.as_str() {
                "dense" => no_params(BenchMethod::Dense),
                "block-sparse" => no_params(BenchMethod::RandomBlocks),
                "vertical-slash" => Ok(BenchMethod::VerticalSlash(VerticalSlash::from_params(Params::new(
                    &spec,
                ))?)),
                "vertical-slash-local" => Ok(BenchMethod::VerticalSlashLocal(VerticalSlash::from_params(
                    Params::new(&spec),
                )?)),
                "a-shape" => Ok(BenchMethod::AShape(AShape::from_params(Params::new(&spec))?)),
                "block-topk" => Ok(BenchMethod::BlockTopK(BlockTopK::from_params(Params::new(&spec))?)),
                other => bail!("--methods: `{other}` has no GPU kernel here; expected one of {KNOWN}"),
            }
        })
        .collect()
}

impl BenchMethod {
    /// Whether the method runs without a causal mask (vertical-slash and A-shape are causal only).
    pub fn supports_full(&self) -> bool {
        !matches!(
            self,
            BenchMethod::VerticalSlash(_) | BenchMethod::VerticalSlashLocal(_) | BenchMethod::AShape(_)
        )
    }
}

/// The tiles timed for formats with `rows`-row query blocks on a GPU compiled for
/// `arch`: the mma.sync tiles, and the wgmma tiles of that height on Hopper (for 128
/// rows, 64- and 128-key tiles: the block-sparse kernels take both).
pub fn tiles_for_rows(rows: usize, arch: &str) -> Vec<TileConfig> {
    let sync: &[TileConfig] = if rows == 64 {
        &[TileConfig::W4, TileConfig::W2M2]
    } else {
        &[TileConfig::W4M2]
    };
    let mut tiles = sync.to_vec();
    tiles.extend(
        TileConfig::ALL
            .into_iter()
            .filter(|t| t.wgmma && t.rows() == rows && t.runs_on(arch)),
    );
    tiles
}

/// Timings of one kernel (and its index building) on one shape.
pub struct Measured {
    /// Method name.
    pub method: String,
    /// Parameters used, with the tile.
    pub params: String,
    /// Executed tile work over the dense (causal) work.
    pub density: f64,
    /// Index-building samples, ms (empty when the mask is given).
    pub index_ms: Vec<f32>,
    /// Attention kernel samples, ms.
    pub kernel_ms: Vec<f32>,
}

/// Shared inputs of every measurement on one shape.
pub struct Shape<'a> {
    /// The GPU.
    pub gpu: &'a Gpu,
    /// Heads, kv heads, tokens, head dim, causal (the tile is set per method).
    pub params: AttentionParams,
    /// Q, K, V bit patterns of `params.elem`.
    pub q: &'a [u16],
    /// K.
    pub k: &'a [u16],
    /// V.
    pub v: &'a [u16],
    /// Untimed launches first.
    pub warmup: usize,
    /// Then launches back to back for this many milliseconds (see `Gpu::sustain`).
    pub warmup_ms: f64,
    /// Timed launches.
    pub iters: usize,
}

impl Shape<'_> {
    fn with_tile(&self, tile: TileConfig) -> AttentionParams {
        AttentionParams { tile, ..self.params }
    }
    fn meta<'m>(&self, method: &'m str, params: &'m str) -> MaskMeta<'m> {
        MaskMeta {
            method,
            params,
            seq_len: self.params.seq_len,
            heads: self.params.heads,
            head_dim: self.params.head_dim,
            causal: self.params.causal,
        }
    }
}

fn time_kernel(run: &mut AttentionRun<'_>, s: &Shape<'_>) -> Result<Vec<f32>> {
    run.sustain(s.warmup_ms)?;
    Ok(run.time_ms(s.warmup, s.iters)?)
}

/// Times an index build (all of its kernels) like [`time_kernel`].
fn time_build(s: &Shape<'_>, mut build: impl FnMut() -> sparselab_kernels::Result<()>) -> Result<Vec<f32>> {
    s.gpu.sustain(s.warmup_ms, &mut build)?;
    Ok(s.gpu.time_ms(s.warmup, s.iters, build)?)
}

/// Measures `method` on `s`: one entry per tile (dense) or density (random blocks).
pub fn measure(
    method: &BenchMethod,
    s: &Shape<'_>,
    tiles: &[TileConfig],
    densities: &[f64],
    rng: &mut SeededRng,
    masks: &mut Option<MaskWriter>,
) -> Result<Vec<Measured>> {
    let p = &s.params;
    let (l, h) = (p.seq_len, p.heads);
    let mut out = Vec::new();
    match method {
        BenchMethod::Dense => {
            for &t in tiles {
                let mut run = AttentionRun::new(s.gpu, s.with_tile(t), s.q, s.k, s.v, None)?;
                out.push(Measured {
                    method: "dense".into(),
                    params: format!("tile={}", t.label()),
                    density: 1.0,
                    index_ms: Vec::new(),
                    kernel_ms: time_kernel(&mut run, s)?,
                });
            }
        }
        BenchMethod::RandomBlocks => {
            for &d in densities {
                let m = random_block_mask(rng, h, l, p.causal, d)?;
                if let Some(w) = masks {
                    let (offsets, blocks) = block_csr(&m);
                    let params = format!("block=128,target={d}");
                    w.block(&s.meta("block-sparse", &params), 128, &offsets, &blocks)?;
                }
                let density = m.selected_tiles() as f64 / full_tiles(h, m.num_blocks(), p.causal) as f64;
                for tile in tiles_for_rows(128, &s.gpu.arch()) {
                    let mut run = AttentionRun::new(s.gpu, s.with_tile(tile), s.q, s.k, s.v, Some(&m))?;
                    out.push(Measured {
                        method: "block-sparse".into(),
                        params: format!("block=128,tile={},target={d}", tile.label()),
                        density,
                        index_ms: Vec::new(),
                        kernel_ms: time_kernel(&mut run, s)?,
                    });
                }
            }
        }
        BenchMethod::VerticalSlash(vs) => {
            let (nv, ns) = vs.effective_budgets(l)?;
            let mut b = VsIndexBuilder::new(s.gpu, p, s.q, s.k, nv, ns)?;
            let index_ms = time_build(s, || b.build())?;
            let idx = b.index().download(s.gpu)?;
            drop(b);
            if let Some(w) = masks {
                w.vertical_slash(&s.meta("vertical-slash", &format!("v={nv},s={ns}")), &idx)?;
            }
            let density = vs_executed_pairs(&idx, l) as f64 / attended_pairs(h, l, true) as f64;
            for tile in tiles_for_rows(64, &s.gpu.arch()) {
                let args = VsIndexArgs::upload(s.gpu, &idx)?;
                let mut run = vs_run_with_index(s.gpu, s.with_tile(tile), s.q, s.k, s.v, args)?;
                out.push(Measured {
                    method: "vertical-slash".into(),
                    params: format!("v={nv},s={ns},tile={}", tile.label()),
                    density,
                    index_ms: index_ms.clone(),
                    kernel_ms: time_kernel(&mut run, s)?,
                });
            }
        }
        BenchMethod::VerticalSlashLocal(vs) => {
            let (nv, ns) = vs.effective_budgets(l)?;
            let params = format!("v={nv},s={ns},slashes=local,columns=spread");
            let one_head = local_vs_mask(l, nv, ns)?;
            let idx = replicate_heads(&vs_host_index(&one_head)?, h)?;
            if let Some(w) = masks {
                w.vertical_slash(&s.meta("vertical-slash-local", &params), &idx)?;
            }
            for tile in tiles_for_rows(64, &s.gpu.arch()) {
                let args = VsIndexArgs::upload(s.gpu, &idx)?;
                let mut run = vs_run_with_index(s.gpu, s.with_tile(tile), s.q, s.k, s.v, args)?;
                out.push(Measured {
                    method: "vertical-slash-local".into(),
                    params: format!("{params},tile={}", tile.label()),
                    density: one_head.executed_pairs() as f64 / attended_pairs(1, l, true) as f64,
                    index_ms: Vec::new(),
                    kernel_ms: time_kernel(&mut run, s)?,
                });
            }
        }
        BenchMethod::AShape(a) => {
            let (sink, local) = a.budgets_on(l)?;
            let m = StreamingMask::new(h, l, sink, local)?;
            let params = format!("sink={sink},local={local}");
            if let Some(w) = masks {
                w.streaming(&s.meta("a-shape", &params), sink, local)?;
            }
            let mut tiles = vec![TileConfig::W4];
            if TileConfig::G1.runs_on(&s.gpu.arch()) {
                tiles.push(TileConfig::G1);
            }
            for tile in tiles {
                let mut run = streaming_run(s.gpu, s.with_tile(tile), s.q, s.k, s.v, &m)?;
                out.push(Measured {
                    method: "a-shape".into(),
                    params: format!("{params},tile={}", tile.label()),
                    density: m.executed_pairs() as f64 / attended_pairs(h, l, true) as f64,
                    index_ms: Vec::new(),
                    kernel_ms: time_kernel(&mut run, s)?,
                });
            }
        }
        BenchMethod::BlockTopK(bt) => {
            let (k, block) = bt.budget_on(l)?;
            let mut b = BlockTopKBuilder::new(s.gpu, p, s.q, s.k, k, block)?;
            let index_ms = time_build(s, || b.build())?;
            let lists = b.selection()?;
            drop(b);
            let m = BlockSparseMask::new(h, l, block, p.causal, lists)?;
            if let Some(w) = masks {
                let (offsets, blocks) = block_csr(&m);
                w.block(
                    &s.meta("block-topk", &format!("k={k},block={block}")),
                    block,
                    &offsets,
                    &blocks,
                )?;
            }
            let density = m.selected_tiles() as f64 / full_tiles(h, m.num_blocks(), p.causal) as f64;
            for tile in tiles_for_rows(block, &s.gpu.arch()) {
                let mut run = AttentionRun::new(s.gpu, s.with_tile(tile), s.q, s.k, s.v, Some(&m))?;
                out.push(Measured {
                    method: "block-topk".into(),
                    params: format!("k={k},block={block},tile={}", tile.label()),
                    density,
                    index_ms: index_ms.clone(),
                    kernel_ms: time_kernel(&mut run, s)?,
                });
            }
        }
    }
    Ok(out)
}

/// One head of the given vertical-slash index: diagonals `0..ns` and `nv` columns
/// spread evenly over the sequence.
fn local_vs_mask(l: usize, nv: usize, ns: usize) -> Result<VerticalSlashMask> {
    let verticals: Vec<u32> = (0..nv).map(|i| (i * l / nv) as u32).collect();
    let slashes: Vec<u32> = (0..ns as u32).collect();
    Ok(VerticalSlashMask::new(1, l, vec![verticals], vec![slashes])?)
}

/// The one-head index `idx` repeated for `heads` heads (the conversion runs once).
fn replicate_heads(idx: &VsHostIndex, heads: usize) -> Result<VsHostIndex> {
    let (nb, nc) = (idx.blocks.len(), idx.cols.len());
    if (nb.max(nc) as u64) * (heads as u64) > i32::MAX as u64 {
        bail!("vertical-slash-local: {heads} heads of {nb} blocks / {nc} columns overflow int32 indices");
    }
    let mut out = VsHostIndex::default();
    for h in 0..heads {
        out.blk_start.extend(idx.blk_start.iter().map(|&x| x + (h * nb) as i32));
        out.col_start.extend(idx.col_start.iter().map(|&x| x + (h * nc) as i32));
        out.blk_count.extend_from_slice(&idx.blk_count);
        out.col_count.extend_from_slice(&idx.col_count);
        out.blocks.extend_from_slice(&idx.blocks);
        out.cols.extend_from_slice(&idx.cols);
    }
    Ok(out)
}

fn full_tiles(heads: usize, nb: usize, causal: bool) -> usize {
    if causal {
        heads * nb * (nb + 1) / 2
    } else {
        heads * nb * nb
    }
}

/// Query-key pairs the vertical-slash kernel executes over `idx` (64-key blocks
/// clipped at the sequence end, columns rounded up to groups of 64), as
/// `VerticalSlashMask::executed_pairs` counts them.
pub fn vs_executed_pairs(idx: &VsHostIndex, l: usize) -> u64 {
    let nrb = l.div_ceil(VS_BLOCK);
    let mut total = 0u64;
    for row in 0..idx.blk_start.len() {
        let rb = row % nrb;
        let rows = (l - rb * VS_BLOCK).min(VS_BLOCK) as u64;
        let (a, n) = (idx.blk_start[row] as usize, idx.blk_count[row] as usize);
        let block_keys: u64 = idx.blocks[a..a + n]
            .iter()
            .map(|&off| (l - off as usize).min(VS_BLOCK) as u64)
            .sum();
        let cols = (idx.col_count[row] as usize).div_ceil(VS_BLOCK) * VS_BLOCK;
        total += rows * (block_keys + cols as u64);
    }
    total
}

/// A random mask of 128-token blocks keeping each visible block with probability
/// `density` (every query block keeps at least one).
pub fn random_block_mask(
    rng: &mut SeededRng,
    heads: usize,
    l: usize,
    causal: bool,
    density: f64,
) -> Result<BlockSparseMask> {
    let block = 128;
    let nb = l.div_ceil(block);
    let mut lists = Vec::with_capacity(heads * nb);
    for _ in 0..heads {
        for qb in 0..nb {
            let limit = if causal { qb + 1 } else { nb };
            let mut list: Vec<u32> = (0..limit as u32).filter(|_| rng.uniform() < density).collect();
            if list.is_empty() {
                list.push(qb.min(limit - 1) as u32);
            }
            lists.push(list);
        }
    }
    Ok(BlockSparseMask::new(heads, l, block, causal, lists)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_kernels::mask::Mask;

    #[test]
    fn methods_parse_with_their_parameters() {
        let m = parse_bench_methods("dense,vertical-slash:v=100,s=200,a-shape,block-topk:k=8,block=128").unwrap();
        assert_eq!(m.len(), 4);
        match &m[1] {
            BenchMethod::VerticalSlash(vs) => assert_eq!(vs.effective_budgets(4096).unwrap(), (100, 200)),
            other => panic!("{other:?}"),
        }
        match &m[3] {
            BenchMethod::BlockTopK(b) => assert_eq!(b.budget_on(4096).unwrap(), (8, 128)),
            other => panic!("{other:?}"),
        }
        assert!(!m[1].supports_full() && m[0].supports_full());
        let e = parse_bench_methods("flexprefill").unwrap_err().to_string();
        assert!(e.contains("flexprefill") && e.contains("block-topk"), "{e}");
        assert!(parse_bench_methods("dense:tile=w4m1").is_err());
        assert!(parse_bench_methods(" , ").is_err());
    }

    #[test]
    fn local_index_is_replicated_per_head() {
        let one = vs_host_index(&local_vs_mask(1000, 30, 100).unwrap()).unwrap();
        let three = replicate_heads(&one, 3).unwrap();
        let want = vs_host_index(
            &VerticalSlashMask::new(
                3,
                1000,
                vec![(0..30).map(|i| i * 1000 / 30).collect(); 3],
                vec![(0..100).collect(); 3],
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(three, want);
        let m = Mask::VerticalSlash(local_vs_mask(4096, 30, 1000).unwrap());
        assert!(m.density() < 0.6, "local diagonals keep a band: {}", m.density());
    }

    #[test]
    fn executed_pairs_of_the_index_equal_the_masks() {
        let m = VerticalSlashMask::new(2, 300, vec![vec![1, 2, 250], vec![7]], vec![vec![0, 90], vec![0, 3]]).unwrap();
        let idx = vs_host_index(&m).unwrap();
        assert_eq!(vs_executed_pairs(&idx, 300), m.executed_pairs());
    }
}
