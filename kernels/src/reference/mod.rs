//! CPU reference attention under any mask: the definition of correct.
//!
//! Queries are processed in blocks of [`REFERENCE_TILE`] rows; for each block the
//! mask's [`KeyPlan`] is gathered in chunks of 64 keys, scores come from one GEMM
//! per chunk, masked pairs are set to -inf, and an online softmax (running max,
//! running sum, rescaled accumulator) folds the chunk in. Blocks run in parallel
//! with rayon. A row that keeps no key returns zeros and `lse = -inf`.

mod gemm;

pub use gemm::Real;

use crate::error::{KernelError, Result};
use crate::mask::{num_blocks, KeyPlan, Mask, MaskFormat, REFERENCE_TILE};
use rayon::prelude::*;
use sparselab_workloads::{HeadTensor, Workload};

/// Keys folded into the online softmax at a time (a multiple of [`LSE_BLOCK`]).
const KEY_CHUNK: usize = 256;
/// Keys per block of [`BlockLse`].
const LSE_BLOCK: usize = 64;

/// Arithmetic of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 everywhere (the default, like a GPU kernel's accumulators).
    #[default]
    F32,
    /// f64 everywhere, for checking other executors.
    F64,
}

/// Options of [`attention`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReferenceOptions {
    /// f32 or f64 arithmetic.
    pub precision: Precision,
    /// Also record, for every row, the log-sum-exp of its scores within each
    /// 64-key block (needs a dense mask); oracles use it to rank blocks exactly.
    pub block_lse: bool,
}

/// Per-row, per-key-block log-sum-exp `[heads, seq, num_key_blocks]`.
#[derive(Debug, Clone)]
pub struct BlockLse {
    /// Keys per block (64).
    pub block: usize,
    /// Key blocks per row.
    pub num_blocks: usize,
    /// Values, -inf where a row sees no key of the block.
    pub values: Vec<f32>,
}

/// Result of [`attention`].
#[derive(Debug, Clone)]
pub struct AttentionOutput {
    /// Attention output `[heads, seq, dim]`.
    pub out: HeadTensor,
    /// Natural-log sum of exp(scaled score) over kept keys, `[heads, seq]`;
    /// -inf for rows that keep nothing.
    pub lse: Vec<f64>,
    /// Keys each row kept, `[heads, seq]`.
    pub kept: Vec<u32>,
    /// Present when [`ReferenceOptions::block_lse`] was set.
    pub block_lse: Option<BlockLse>,
}

/// Runs softmax(Q K^T / sqrt(d)) V under `mask` (which decides causality).
pub fn attention(w: &Workload, mask: &Mask, opts: &ReferenceOptions) -> Result<AttentionOutput> {
    mask.check_fits(w.heads(), w.seq_len(), mask.causal())?;
    if opts.block_lse && !matches!(mask, Mask::Dense(_)) {
        return Err(KernelError::MaskMismatch {
            problem: format!(
                "per-block log-sum-exp is recorded only for the dense mask, not {}",
                mask.format_name()
            ),
        });
    }
    match opts.precision {
        Precision::F32 => run::<f32>(w, mask, opts.block_lse),
        Precision::F64 => run::<f64>(w, mask, opts.block_lse),
    }
}

/// One row block's results.
struct BlockResult {
    out: Vec<f32>,
    lse: Vec<f64>,
    kept: Vec<u32>,
    block_lse: Vec<f32>,
}

fn run<T: Real>(w: &Workload, mask: &Mask, want_block_lse: bool) -> Result<AttentionOutput> {
    let (heads, seq, dim) = (w.heads(), w.seq_len(), w.head_dim());
    let nrb = num_blocks(seq, REFERENCE_TILE);
    let nkb = num_blocks(seq, LSE_BLOCK);
    let jobs: Vec<(usize, usize)> = (0..heads).flat_map(|h| (0..nrb).map(move |rb| (h, rb))).collect();
    let results: Vec<BlockResult> = jobs
        .par_iter()
        .map_init(Scratch::<T>::default, |scratch, &(h, rb)| {
            row_block::<T>(w, mask, h, rb, want_block_lse.then_some(nkb), scratch)
        })
        .collect();
    let mut out = HeadTensor::zeros(heads, seq, dim);
    let mut lse = Vec::with_capacity(heads * seq);
    let mut kept = Vec::with_capacity(heads * seq);
    let mut block_values = Vec::with_capacity(if want_block_lse { heads * seq * nkb } else { 0 });
    for (&(h, rb), r) in jobs.iter().zip(results) {
        let r0 = rb * REFERENCE_TILE;
        let start = (h * seq + r0) * dim;
        out.data_mut()[start..start + r.out.len()].copy_from_slice(&r.out);
        lse.extend(r.lse);
        kept.extend(r.kept);
        block_values.extend(r.block_lse);
    }
    Ok(AttentionOutput {
        out,
        lse,
        kept,
        block_lse: want_block_lse.then_some(BlockLse {
            block: LSE_BLOCK,
            num_blocks: nkb,
            values: block_values,
        }),
    })
}

/// Buffers reused across row blocks of one worker.
#[derive(Default)]
struct Scratch<T> {
    plan: KeyPlan,
    keys: Vec<u32>,
    q: Vec<T>,
    k: Vec<T>,
    v: Vec<T>,
    s: Vec<T>,
    acc: Vec<T>,
    keep: Vec<bool>,
}

fn row_block<T: Real>(
    w: &Workload,
    mask: &Mask,
    h: usize,
    rb: usize,
    block_lse_blocks: Option<usize>,
    sc: &mut Scratch<T>,
) -> BlockResult {
    let (seq, dim) = (w.seq_len(), w.head_dim());
    let kvh = w.kv_head_of(h);
    let r0 = rb * REFERENCE_TILE;
    let r1 = (r0 + REFERENCE_TILE).min(seq);
    let nr = r1 - r0;
    let scale = 1.0 / (dim as f32).sqrt();

    sc.plan.clear();
    mask.plan_rows(h, r0, r1, &mut sc.plan);
    sc.keys.clear();
    sc.plan.keys_into(&mut sc.keys);
    let exact = plan_is_exact(mask);

    sc.q.clear();
    for i in r0..r1 {
        sc.q.extend(w.q().row(h, i).iter().map(|&x| T::from_f32(x * scale)));
    }
    sc.acc.clear();
    sc.acc.resize(nr * dim, T::default());
    let mut row_max = vec![f64::NEG_INFINITY; nr];
    let mut row_sum = vec![0.0f64; nr];
    let mut kept = vec![0u32; nr];
    let mut block_lse = match block_lse_blocks {
        Some(nkb) => vec![f32::NEG_INFINITY; nr * nkb],
        None => Vec::new(),
    };

    for chunk in sc.keys.chunks(KEY_CHUNK) {
        let c = chunk.len();
        sc.k.clear();
        sc.v.clear();
        for &key in chunk {
            sc.k.extend(w.k().row(kvh, key as usize).iter().map(|&x| T::from_f32(x)));
            sc.v.extend(w.v().row(kvh, key as usize).iter().map(|&x| T::from_f32(x)));
        }
        sc.s.resize(nr * c, T::default());
        T::gemm_abt(nr, dim, c, &sc.q, &sc.k, &mut sc.s);
        let max_key = *chunk.iter().max().unwrap_or(&0) as usize;
        let whole_chunk_kept = exact && (!mask.causal() || max_key <= r0);
        for i in 0..nr {
            let q = r0 + i;
            let row = &mut sc.s[i * c..(i + 1) * c];
            if !whole_chunk_kept {
                sc.keep.resize(c, false);
                mask.keep_row(h, q, chunk, &mut sc.keep);
                for (s, &keep) in row.iter_mut().zip(&sc.keep) {
                    if !keep {
                        *s = T::NEG_INF;
                    }
                }
            }
            let chunk_max = T::max_of(row);
            if chunk_max == T::NEG_INF {
                row.fill(T::default());
                continue;
            }
            let chunk_kept = if whole_chunk_kept {
                c as u32
            } else {
                sc.keep.iter().filter(|&&k| k).count() as u32
            };
            // The running max is held in T, so the exponents and the lse agree.
            let m_t = if row_max[i] >= chunk_max.to_f64() {
                T::from_f64(row_max[i])
            } else {
                chunk_max
            };
            let new_max = m_t.to_f64();
            let correction = (row_max[i] - new_max).exp();
            T::exp_shifted(row, m_t);
            let chunk_sum = T::sum_of(row);
            if let Some(nkb) = block_lse_blocks {
                // Dense plans start at key 0 and chunks hold a multiple of 64 keys,
                // so each 64-key piece of a chunk is one whole key block.
                for (piece, probs) in row.chunks(LSE_BLOCK).enumerate() {
                    let kb = chunk[piece * LSE_BLOCK] as usize / LSE_BLOCK;
                    let sum: f64 = probs.iter().map(|p| p.to_f64()).sum();
                    block_lse[i * nkb + kb] = (new_max + sum.ln()) as f32;
                }
            }
            if correction != 1.0 {
                let corr = T::from_f64(correction);
                for a in &mut sc.acc[i * dim..(i + 1) * dim] {
                    *a = a.mul(corr);
                }
            }
            row_sum[i] = row_sum[i] * correction + chunk_sum;
            row_max[i] = new_max;
            kept[i] += chunk_kept;
        }
        T::gemm_acc(nr, c, dim, &sc.s, &sc.v, &mut sc.acc);
    }

    let mut out = vec![0.0f32; nr * dim];
    let mut lse = vec![f64::NEG_INFINITY; nr];
    for i in 0..nr {
        if row_sum[i] > 0.0 {
            let inv = 1.0 / row_sum[i];
            for (o, a) in out[i * dim..(i + 1) * dim]
                .iter_mut()
                .zip(&sc.acc[i * dim..(i + 1) * dim])
            {
                *o = (a.to_f64() * inv) as f32;
            }
            lse[i] = row_max[i] + row_sum[i].ln();
        }
    }
    BlockResult {
        out,
        lse,
        kept,
        block_lse,
    }
}

/// Formats whose plan holds exactly the kept keys up to the causal condition.
fn plan_is_exact(mask: &Mask) -> bool {
    matches!(mask, Mask::Dense(_) | Mask::BlockSparse(_) | Mask::VerticalSlash(_))
}

#[cfg(test)]
mod tests;
