//! The synthetic head profiles produce the structure they name, measured with
//! the CPU reference: recall of oracle masks of each format against dense.
//!
//! Fast tests run at 1-4k tokens with head dim 64 and budgets scaled to the
//! size; the 16k checks are `#[ignore]`d (about 90 s on 2 cores):
//! `cargo test -p sparselab-kernels --test profiles -- --ignored --nocapture`.

use rayon::prelude::*;
use sparselab_kernels::mask::{BlockSparseMask, DenseMask, Mask, StreamingMask, VerticalSlashMask};
use sparselab_kernels::metrics::recall;
use sparselab_kernels::reference::{attention, AttentionOutput, ReferenceOptions};
use sparselab_workloads::synthetic::{generate, SyntheticSpec};
use sparselab_workloads::Workload;

/// 64-token blocks of the block-sparse oracle.
const BLOCK: usize = 64;

fn spec(profile: &str, seq_len: usize, heads: usize, head_dim: usize) -> SyntheticSpec {
    SyntheticSpec {
        profile: profile.to_string(),
        seq_len,
        heads,
        kv_heads: heads,
        head_dim,
        seed: 1,
    }
}

/// MInference's budgets at 16k tokens, scaled to `seq` tokens.
struct Budgets {
    /// A-shape sink (128 at 16k, at least 4).
    sink: usize,
    /// A-shape window (3968 at 16k).
    window: usize,
    /// Vertical columns (1000 at 16k).
    columns: usize,
    /// Slash diagonals (6096 at 16k).
    diagonals: usize,
}

impl Budgets {
    fn scaled(seq: usize) -> Self {
        let f = seq as f64 / 16384.0;
        Self {
            sink: ((128.0 * f) as usize).max(4),
            window: (3968.0 * f) as usize,
            columns: ((1000.0 * f) as usize).max(1),
            diagonals: (6096.0 * f) as usize,
        }
    }
}

/// Attention-mass sums of one head under causal softmax.
struct HeadMass {
    /// Per key column.
    columns: Vec<f64>,
    /// Per diagonal `i - j`.
    diagonals: Vec<f64>,
    /// `[query block, key block]` of 64 x 64.
    blocks: Vec<f64>,
    /// Sum over rows of the largest probability of the row.
    top1: f64,
}

impl HeadMass {
    fn zeros(seq: usize) -> Self {
        let nb = seq.div_ceil(BLOCK);
        Self {
            columns: vec![0.0; seq],
            diagonals: vec![0.0; seq],
            blocks: vec![0.0; nb * nb],
            top1: 0.0,
        }
    }
    fn add(mut self, other: Self) -> Self {
        for (a, b) in [
            (&mut self.columns, &other.columns),
            (&mut self.diagonals, &other.diagonals),
            (&mut self.blocks, &other.blocks),
        ] {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.top1 += other.top1;
        self
    }
}

/// Dot product in 8 lanes (so it vectorizes).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = a
        .chunks_exact(8)
        .remainder()
        .iter()
        .zip(b.chunks_exact(8).remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Column, diagonal and block sums of the causal attention probabilities of head `h`.
fn head_mass(w: &Workload, h: usize) -> HeadMass {
    let (seq, dim) = (w.seq_len(), w.head_dim());
    let kv = w.kv_head_of(h);
    let scale = 1.0 / (dim as f32).sqrt();
    let nb = seq.div_ceil(BLOCK);
    (0..seq)
        .into_par_iter()
        .fold(
            || (HeadMass::zeros(seq), Vec::new()),
            |(mut m, mut p): (HeadMass, Vec<f64>), i| {
                let q = w.q().row(h, i);
                p.clear();
                p.extend((0..=i).map(|j| (dot(q, w.k().row(kv, j)) * scale) as f64));
                let max = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for x in p.iter_mut() {
                    *x = (*x - max).exp();
                    sum += *x;
                }
                let qb = i / BLOCK;
                for (j, x) in p.iter().enumerate() {
                    let x = x / sum;
                    m.columns[j] += x;
                    m.diagonals[i - j] += x;
                    m.blocks[qb * nb + j / BLOCK] += x;
                }
                m.top1 += 1.0 / sum;
                (m, p)
            },
        )
        .map(|(m, _)| m)
        .reduce(|| HeadMass::zeros(seq), HeadMass::add)
}

/// Indices of the `k` largest values.
fn top_k(values: &[f64], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..values.len() as u32).collect();
    idx.sort_by(|&a, &b| values[b as usize].total_cmp(&values[a as usize]));
    idx.truncate(k);
    idx
}

fn dense(w: &Workload) -> AttentionOutput {
    let mask = Mask::Dense(DenseMask {
        heads: w.heads(),
        seq_len: w.seq_len(),
        causal: true,
    });
    attention(w, &mask, &ReferenceOptions::default()).unwrap()
}

/// Mean recall of `mask` against `dense`.
fn recall_of(w: &Workload, dense: &AttentionOutput, mask: Mask) -> f64 {
    let out = attention(w, &mask, &ReferenceOptions::default()).unwrap();
    recall(dense, &out).mean
}

/// The A-shape: `sink` first keys and a `window` of recent keys.
fn a_shape(w: &Workload, dense: &AttentionOutput, sink: usize, window: usize) -> f64 {
    recall_of(
        w,
        dense,
        Mask::Streaming(StreamingMask::new(w.heads(), w.seq_len(), sink, window).unwrap()),
    )
}

/// Oracle vertical-slash: each head's best `v` columns and `s` diagonals.
fn vertical_slash(w: &Workload, dense: &AttentionOutput, mass: &[HeadMass], v: usize, s: usize) -> f64 {
    let verticals = mass.iter().map(|m| top_k(&m.columns, v)).collect();
    let slashes = mass.iter().map(|m| top_k(&m.diagonals, s)).collect();
    let mask = VerticalSlashMask::new(w.heads(), w.seq_len(), verticals, slashes).unwrap();
    recall_of(w, dense, Mask::VerticalSlash(mask))
}

/// Oracle block-sparse: per head and query block, the best `fraction` of its causal key blocks.
fn block_top(w: &Workload, dense: &AttentionOutput, mass: &[HeadMass], fraction: f64) -> f64 {
    let nb = w.seq_len().div_ceil(BLOCK);
    let mut lists = Vec::new();
    for m in mass {
        for qb in 0..nb {
            let k = ((fraction * (qb + 1) as f64).ceil() as usize).max(1);
            lists.push(top_k(&m.blocks[qb * nb..qb * nb + qb + 1], k));
        }
    }
    let mask = BlockSparseMask::new(w.heads(), w.seq_len(), BLOCK, true, lists).unwrap();
    recall_of(w, dense, Mask::BlockSparse(mask))
}

/// Mean over rows and heads of the largest probability in a row.
fn top1(w: &Workload, mass: &[HeadMass]) -> f64 {
    mass.iter().map(|m| m.top1).sum::<f64>() / (mass.len() * w.seq_len()) as f64
}

fn masses(w: &Workload) -> Vec<HeadMass> {
    (0..w.heads()).map(|h| head_mass(w, h)).collect()
}

/// Probability that retrieval query `q` of head `h` puts on key `t`, from the dense lse.
fn mass_on(w: &Workload, dense: &AttentionOutput, h: usize, q: usize, t: usize) -> f64 {
    let score = dot(w.q().row(h, q), w.k().row(w.kv_head_of(h), t)) / (w.head_dim() as f32).sqrt();
    (score as f64 - dense.lse[h * w.seq_len() + q]).exp()
}

/// Mean recall of one head under `mask`.
fn head_recall(w: &Workload, dense: &AttentionOutput, mask: Mask, h: usize) -> f64 {
    let out = attention(w, &mask, &ReferenceOptions::default()).unwrap();
    let rows = sparselab_kernels::metrics::recall_per_row(dense, &out);
    let l = w.seq_len();
    rows[h * l..(h + 1) * l].iter().sum::<f64>() / l as f64
}

#[test]
fn streaming_keeps_nearly_everything_in_sink_and_window() {
    // 1000 tokens: not a multiple of 64.
    for seq in [1000, 2048] {
        let w = generate(&spec("streaming", seq, 1, 64)).unwrap();
        let d = dense(&w);
        let b = Budgets::scaled(seq);
        let kept = a_shape(&w, &d, b.sink, b.window);
        assert!(
            kept > 0.95,
            "streaming at {seq}: A-shape({}, {}) keeps {kept}",
            b.sink,
            b.window
        );
        let top1 = top1(&w, &masses(&w));
        println!(
            "streaming at {seq}: A-shape({}, {}) {kept:.4}, top-1 {top1:.3}",
            b.sink, b.window
        );
        assert!(top1 < 0.8, "streaming at {seq}: top-1 key holds {top1} of a row");
    }
}

#[test]
fn vertical_slash_lives_in_few_columns_and_diagonals() {
    let seq = 2048;
    let w = generate(&spec("vertical-slash", seq, 2, 64)).unwrap();
    let d = dense(&w);
    let m = masses(&w);
    let top5 = seq / 20;
    let vs5 = vertical_slash(&w, &d, &m, top5, top5);
    assert!(vs5 > 0.8, "top 5% of columns and diagonals keep {vs5}");
    let b = Budgets::scaled(seq);
    let vs = vertical_slash(&w, &d, &m, b.columns, b.diagonals);
    let a = a_shape(&w, &d, b.sink, b.window);
    assert!(vs >= 0.97, "oracle VS({}, {}) keeps {vs}", b.columns, b.diagonals);
    assert!(
        a <= 0.85,
        "A-shape({}, {}) keeps {a}: the far slashes and verticals are missing",
        b.sink,
        b.window
    );
    let top1 = top1(&w, &m);
    println!("vertical-slash at {seq}: top 5% {vs5:.4}, VS {vs:.4}, A-shape {a:.4}, top-1 {top1:.3}");
    assert!(top1 < 0.8, "top-1 key holds {top1} of a row");
}

#[test]
fn block_profile_lives_in_few_blocks() {
    let seq = 4096;
    let w = generate(&spec("block", seq, 1, 64)).unwrap();
    let d = dense(&w);
    let m = masses(&w);
    let blocks = block_top(&w, &d, &m, 0.2);
    assert!(blocks > 0.9, "top 20% of 64x64 blocks keep {blocks}");
    let b = Budgets::scaled(seq);
    let a = a_shape(&w, &d, b.sink, b.window);
    println!("block at {seq}: top 20% blocks {blocks:.4}, A-shape {a:.4}");
    assert!(a < 0.8, "A-shape({}, {}) keeps {a}", b.sink, b.window);
}

#[test]
fn retrieval_queries_find_their_far_key() {
    let s = spec("retrieval", 2048, 2, 64);
    let w = generate(&s).unwrap();
    let d = dense(&w);
    let plans = s.plans().unwrap();
    for h in 0..2 {
        let pairs = &plans[w.kv_head_of(h)].retrievals;
        assert_eq!(pairs.len(), 4);
        for &(q, t) in pairs {
            let p = mass_on(&w, &d, h, q, t);
            println!("retrieval head {h}: query {q} -> key {t}: {p:.4}");
            assert!(p > 0.8, "head {h}: query {q} puts {p} on its target {t}");
        }
    }
}

#[test]
fn mixed_heads_keep_their_own_structure_under_gqa() {
    let seq = 2048;
    let s = SyntheticSpec {
        kv_heads: 2,
        ..spec("mixed", seq, 4, 64)
    };
    let names: Vec<&str> = s.head_profiles().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["streaming", "vertical-slash", "block", "retrieval"]);
    let w = generate(&s).unwrap();
    let d = dense(&w);
    let b = Budgets::scaled(seq);
    let a_shape_mask = || Mask::Streaming(StreamingMask::new(4, seq, b.sink, b.window).unwrap());
    let per_head: Vec<f64> = (0..4).map(|h| head_recall(&w, &d, a_shape_mask(), h)).collect();
    println!("mixed, A-shape recall per head: {per_head:?}");
    assert!(per_head[0] > 0.95, "streaming head: {per_head:?}");
    assert!(per_head[1] < 0.85, "vertical-slash head: {per_head:?}");
    assert!(per_head[2] < 0.9, "block head: {per_head:?}");
    let plans = s.plans().unwrap();
    for &(q, t) in &plans[1].retrievals {
        assert!(mass_on(&w, &d, 3, q, t) > 0.8, "retrieval head, query {q}");
        assert!(
            mass_on(&w, &d, 2, q, t) < 0.05,
            "the block head of the same group ignores the pair"
        );
    }
}

/// MInference-scale checks at 16k tokens, head dim 128 (about 90 s on 2 cores):
/// `cargo test -p sparselab-kernels --test profiles sixteen_k -- --ignored --nocapture`.
#[test]
#[ignore]
fn sixteen_k_tokens_meet_the_minference_budgets() {
    let seq = 16384;
    let b = Budgets::scaled(seq);
    assert_eq!((b.sink, b.window, b.columns, b.diagonals), (128, 3968, 1000, 6096));

    let w = generate(&spec("streaming", seq, 1, 128)).unwrap();
    let d = dense(&w);
    let a = a_shape(&w, &d, b.sink, b.window);
    let t1 = top1(&w, &masses(&w));
    println!("streaming: A-shape(128, 3968) {a:.4}, top-1 {t1:.3}");
    assert!(a > 0.95 && t1 < 0.8);

    let w = generate(&spec("vertical-slash", seq, 2, 128)).unwrap();
    let d = dense(&w);
    let m = masses(&w);
    let vs = vertical_slash(&w, &d, &m, b.columns, b.diagonals);
    let a = a_shape(&w, &d, b.sink, b.window);
    let vs5 = vertical_slash(&w, &d, &m, seq / 20, seq / 20);
    let t1 = top1(&w, &m);
    println!("vertical-slash: VS(1000, 6096) {vs:.4}, A-shape(128, 3968) {a:.4}, VS 5% {vs5:.4}, top-1 {t1:.3}");
    assert!(vs >= 0.97 && a <= 0.85 && vs5 > 0.8 && t1 < 0.8);

    let w = generate(&spec("block", seq, 1, 128)).unwrap();
    let d = dense(&w);
    let m = masses(&w);
    let (b10, b20) = (block_top(&w, &d, &m, 0.1), block_top(&w, &d, &m, 0.2));
    let a = a_shape(&w, &d, b.sink, b.window);
    println!("block: top 10% blocks {b10:.4}, top 20% {b20:.4}, A-shape(128, 3968) {a:.4}");
    assert!(b20 > 0.9 && a < 0.8);
}
