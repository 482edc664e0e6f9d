//! Oracle top-k keys: per query row, the `k` keys with the largest true scores.
//! Keeping the largest scores keeps the largest softmax mass, so at the same
//! per-row key count no mask of any format recalls more: the upper bound of
//! every method at a budget.

use super::checks::{nonzero, Budget};
use super::cost;
use super::params::Params;
use super::scoring::{dot_f64, gemm_ab, transpose};
use super::topk::{kth_largest, RadixScratch};
use super::{Method, Selection, SelectionContext};
use crate::error::{KernelError, Result};
use crate::mask::{attended_pairs, num_blocks, KeyListMask, Mask, REFERENCE_TILE};
use rayon::prelude::*;
use sparselab_workloads::Workload;

const NAME: &str = "oracle-keys";

/// How many keys each row keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyBudget {
    /// The same `k` for every row (clamped to the row's causal length).
    Uniform(Budget),
    /// One budget per (head, row), head-major.
    PerRow(Vec<u32>),
}

/// Exact per-row top-k keys by `q . k`, as a [`KeyListMask`].
///
/// Scores come from an f32 GEMM per 64-row block (memory stays at one
/// `64 x seq` tile per worker, so 8192 tokens x 8 heads fit easily); keys whose
/// f32 score lies within the GEMM's rounding bound of the k-th largest are
/// re-scored in f64, so the selection is the exact top-k of the f64 scores
/// (ties toward the smaller key index) and the bound holds to rounding of the
/// recall itself. GQA through [`Workload::kv_head_of`]. A given `k` above the
/// sequence length is an error; the default keeps at most each row's keys.
///
/// Estimation cost: reported as the cost of computing every attended score
/// exactly ([`super::oracle_blocks::OracleBlocks`] explains why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleKeys {
    budget: KeyBudget,
}

impl OracleKeys {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 1] = ["k"];

    /// `k` keys per row (at least 1).
    pub fn new(k: usize) -> Result<Self> {
        Ok(Self {
            budget: KeyBudget::Uniform(Budget::given(nonzero(NAME, "k", k)?)),
        })
    }

    /// One budget per (head, row), head-major `[heads, seq]`, e.g. another
    /// method's kept counts ([`crate::reference::AttentionOutput::kept`]), to
    /// bound that method row by row. Not reachable from the command line; its
    /// label is `oracle-keys:k=per-row`, which does not parse back.
    pub fn per_row(budgets: Vec<u32>) -> Self {
        Self {
            budget: KeyBudget::PerRow(budgets),
        }
    }

    /// From `k=..` (default 2048).
    pub fn from_params(mut p: Params) -> Result<Self> {
        let k = Budget::read(&mut p, "k", 2048)?;
        p.finish(&Self::PARAMS)?;
        nonzero(NAME, "k", k.value)?;
        Ok(Self {
            budget: KeyBudget::Uniform(k),
        })
    }

    fn budget_of(&self, h: usize, q: usize, seq: usize) -> usize {
        match &self.budget {
            KeyBudget::Uniform(k) => k.value,
            KeyBudget::PerRow(b) => b[h * seq + q] as usize,
        }
    }
}

/// Buffers one worker reuses across row blocks.
#[derive(Default)]
struct Scratch {
    queries: Vec<f32>,
    scores: Vec<f32>,
    radix: RadixScratch,
    picked: Vec<u32>,
    candidates: Vec<(f64, u32)>,
}

/// The top `budget` of `scores` (f32 scores of `q` against keys `0..n`), exact
/// with respect to f64 scores: keys within `2 eps` of the f32 threshold are
/// re-ranked by their f64 dot products.
fn row_top(scores: &[f32], budget: usize, q: &[f32], keys: &[f32], eps: f64, sc: &mut Scratch) -> Vec<u32> {
    let (n, dim) = (scores.len(), q.len());
    if budget >= n {
        return (0..n as u32).collect();
    }
    if budget == 0 {
        return Vec::new();
    }
    let threshold = kth_largest(scores, budget, &mut sc.radix) as f64;
    // Keys above `hi` are surely in, keys below `lo` surely out. Branch-free
    // compaction of every key at or above `lo`, in ascending order.
    let (hi, lo) = (threshold + 2.0 * eps, threshold - 2.0 * eps);
    sc.picked.clear();
    sc.picked.resize(n, 0);
    let mut len = 0;
    for (k, &s) in scores.iter().enumerate() {
        sc.picked[len] = k as u32;
        len += (s as f64 >= lo) as usize;
    }
    let picked = &sc.picked[..len];
    sc.candidates.clear();
    sc.candidates.extend(
        picked
            .iter()
            .filter(|&&k| scores[k as usize] as f64 <= hi)
            .map(|&k| (0.0, k)),
    );
    let need = budget - (len - sc.candidates.len());
    if sc.candidates.len() <= need {
        return picked.to_vec();
    }
    for c in sc.candidates.iter_mut() {
        let k = c.1 as usize;
        c.0 = dot_f64(q, &keys[k * dim..(k + 1) * dim]);
    }
    sc.candidates
        .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut rejected: Vec<u32> = sc.candidates[need..].iter().map(|c| c.1).collect();
    rejected.sort_unstable();
    picked
        .iter()
        .copied()
        .filter(|k| rejected.binary_search(k).is_err())
        .collect()
}

impl Method for OracleKeys {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        match &self.budget {
            KeyBudget::Uniform(k) => format!("k={}", k.value),
            KeyBudget::PerRow(_) => "k=per-row".to_string(),
        }
    }
    fn effective_params(&self, seq_len: usize) -> String {
        match &self.budget {
            KeyBudget::Uniform(k) => format!("k={}", k.shown(seq_len)),
            KeyBudget::PerRow(_) => self.params(),
        }
    }
    /// Errors when a given `k` exceeds the sequence or per-row budgets do not match
    /// the workload's `heads x seq` rows.
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        let w = ctx.workload;
        let (heads, seq, dim) = (w.heads(), w.seq_len(), w.head_dim());
        match &self.budget {
            KeyBudget::Uniform(k) => {
                // Rows keep at most their causal length anyway, so a default
                // budget needs no capping here.
                k.tokens(NAME, "k", seq)?;
            }
            KeyBudget::PerRow(b) if b.len() != heads * seq => {
                return Err(KernelError::bad_param(
                    NAME,
                    "per-row budgets",
                    format!(
                        "has {} entries but the workload has {heads} heads x {seq} tokens",
                        b.len()
                    ),
                ))
            }
            KeyBudget::PerRow(_) => {}
        }
        let kv: Vec<KvHead> = (0..w.kv_heads()).into_par_iter().map(|kh| KvHead::new(w, kh)).collect();
        // One task per (kv head, 64-row block): the query heads sharing the kv
        // head are stacked into one GEMM, so K is packed once for all of them.
        let nrb = num_blocks(seq, REFERENCE_TILE);
        let group = heads / w.kv_heads();
        let mut blocks: Vec<Vec<Vec<u32>>> = (0..w.kv_heads() * nrb)
            .into_par_iter()
            .map_init(Scratch::default, |sc, i| {
                self.row_block(w, &kv[i / nrb], i % nrb, ctx.causal, sc)
            })
            .collect();
        // Task (kh, rb) holds heads kh*group.. in order, each with the block's rows.
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(heads * seq);
        for h in 0..heads {
            for rb in 0..nrb {
                let (r0, r1) = (rb * REFERENCE_TILE, ((rb + 1) * REFERENCE_TILE).min(seq));
                let task = &mut blocks[(h / group) * nrb + rb];
                let g = h % group;
                rows.extend(task[g * (r1 - r0)..(g + 1) * (r1 - r0)].iter_mut().map(std::mem::take));
            }
        }
        drop(blocks);
        let kept: usize = rows.iter().map(Vec::len).sum();
        let mask = KeyListMask::from_rows(heads, seq, ctx.causal, rows)?;
        Ok(Selection {
            mask: Mask::KeyList(mask),
            estimation: cost::exact_scores(heads, seq, dim, attended_pairs(heads, seq, ctx.causal), kept),
        })
    }
}

/// One kv head's keys in both layouts and its largest key norm.
struct KvHead<'a> {
    index: usize,
    /// `[seq, dim]`, for exact f64 re-scoring.
    keys: &'a [f32],
    /// `[dim, seq]`, for the score GEMM.
    keys_t: Vec<f32>,
    /// `max_k |k|`, for the rounding bound of f32 scores.
    max_norm: f64,
}

impl<'a> KvHead<'a> {
    fn new(w: &'a Workload, kh: usize) -> Self {
        let keys = w.k().head(kh);
        let dim = w.head_dim();
        Self {
            index: kh,
            keys,
            keys_t: transpose(keys, w.seq_len(), dim),
            max_norm: keys.chunks(dim).map(|k| dot_f64(k, k).sqrt()).fold(0.0, f64::max),
        }
    }
}

impl OracleKeys {
    /// Top keys of row block `rb` for every query head reading kv head `kv`:
    /// the rows of the first such head, then the next head's, and so on.
    fn row_block(&self, w: &Workload, kv: &KvHead<'_>, rb: usize, causal: bool, sc: &mut Scratch) -> Vec<Vec<u32>> {
        let (seq, dim) = (w.seq_len(), w.head_dim());
        let group = w.heads() / w.kv_heads();
        let (r0, r1) = (rb * REFERENCE_TILE, ((rb + 1) * REFERENCE_TILE).min(seq));
        let nr = r1 - r0;
        let cols = if causal { r1 } else { seq };
        let heads = kv.index * group..(kv.index + 1) * group;
        let mut queries = std::mem::take(&mut sc.queries);
        queries.clear();
        for h in heads.clone() {
            queries.extend_from_slice(&w.q().head(h)[r0 * dim..r1 * dim]);
        }
        let mut scores = std::mem::take(&mut sc.scores);
        scores.resize(group * nr * cols, 0.0);
        gemm_ab(group * nr, dim, cols, &queries, &kv.keys_t, seq, &mut scores);
        // f32 dot products of length d err by at most d u |q| |k| (u = 2^-24).
        let unit = dim as f64 * f32::EPSILON as f64 * 0.5 * 1.5;
        let out = heads
            .flat_map(|h| (r0..r1).map(move |row| (h, row)))
            .enumerate()
            .map(|(i, (h, row))| {
                let n = if causal { row + 1 } else { seq };
                let qrow = &queries[i * dim..(i + 1) * dim];
                let eps = unit * dot_f64(qrow, qrow).sqrt() * kv.max_norm + f64::MIN_POSITIVE;
                let budget = self.budget_of(h, row, seq);
                row_top(&scores[i * cols..i * cols + n], budget, qrow, kv.keys, eps, sc)
            })
            .collect();
        sc.scores = scores;
        sc.queries = queries;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_top_is_exact_with_near_ties() {
        let keys = [1.0f32, 3.0, 2.0, 3.0000002, 0.5];
        let q = [1.0f32];
        // f32 scores that (pretend) lost the difference between keys 1 and 3.
        let scores = [1.0f32, 3.0, 2.0, 3.0, 0.5];
        let mut sc = Scratch::default();
        assert_eq!(row_top(&scores, 1, &q, &keys, 1e-3, &mut sc), vec![3]);
        assert_eq!(row_top(&scores, 2, &q, &keys, 1e-3, &mut sc), vec![1, 3]);
        assert_eq!(row_top(&scores, 3, &q, &keys, 1e-3, &mut sc), vec![1, 2, 3]);
        assert_eq!(row_top(&scores, 9, &q, &keys, 1e-3, &mut sc).len(), 5);
        assert!(row_top(&scores, 0, &q, &keys, 1e-3, &mut sc).is_empty());
    }
}
