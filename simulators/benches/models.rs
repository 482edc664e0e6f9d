//! Cost of the models themselves, so a slow change to the roofline or the accelerator model is seen.
//!
//! Timing model: criterion's warm-up, then sampled iterations of whole calls; no throughput (each
//! benchmark is one call).
//! - `roofline/predict`: `predict` of dense (FlashAttention-2 model) and vertical-slash
//!   (MInference's 1000 + 6096, local slashes) at 131072 tokens, 32 heads, head dim 128, causal, on the
//!   H100 preset; the work is built once outside the loop;
//! - `roofline/analytic_work`: building those work descriptions (`families::dense`,
//!   `families::vertical_slash`, `families::block_topk`);
//! - `accelerator/bert_layer_step`: one BERT-base layer training step (batch 8 x 128 tokens) on the
//!   vcu1525 preset, dense and BDWP 2:8, every schedule searched afresh;
//! - `accelerator/attention_2k`: `simulate_attention` of a 2048-token, 8-head causal mask (dense, and
//!   block-sparse keeping the first and the diagonal 64-blocks), head dim 128.

use criterion::{criterion_group, criterion_main, Criterion};
use sparselab_kernels::mask::{BlockSparseMask, DenseMask, Mask};
use sparselab_simulators::accelerator::attention::simulate_attention;
use sparselab_simulators::accelerator::{AcceleratorConfig, Effects, ModelSpec, NmRatio, StepSimulator};
use sparselab_simulators::roofline::{families, predict, AttentionShape, GpuPreset, KernelSpec, TileShape};

const SHAPE_128K: AttentionShape = AttentionShape {
    seq_len: 131_072,
    heads: 32,
    kv_heads: 32,
    head_dim: 128,
    causal: true,
    dtype_bytes: 2,
};
const TILE_64: TileShape = TileShape { q: 64, k: 64 };

fn roofline(c: &mut Criterion) {
    let h100 = GpuPreset::load("h100").expect("built-in preset");
    let fa2 = KernelSpec::by_name("fa2").expect("known kernel");
    let minference = KernelSpec::by_name("minference").expect("known kernel");
    let dense = families::dense(SHAPE_128K, fa2.tile).expect("valid shape");
    let vs = families::vertical_slash(SHAPE_128K, TILE_64, 1000, 6096, 0.0).expect("valid budget");
    let mut group = c.benchmark_group("roofline");
    group.bench_function("predict/dense_fa2_L131072", |b| {
        b.iter(|| predict(&h100, &dense, &fa2).expect("predicts"))
    });
    group.bench_function("predict/vertical_slash_1000_6096_L131072", |b| {
        b.iter(|| predict(&h100, &vs, &minference).expect("predicts"))
    });
    group.bench_function("analytic_work/dense_L131072", |b| {
        b.iter(|| families::dense(SHAPE_128K, fa2.tile).expect("valid shape"))
    });
    group.bench_function("analytic_work/vertical_slash_L131072", |b| {
        b.iter(|| families::vertical_slash(SHAPE_128K, TILE_64, 1000, 6096, 0.0).expect("valid budget"))
    });
    group.bench_function("analytic_work/block_topk_L131072", |b| {
        b.iter(|| families::block_topk(SHAPE_128K, 100, 64).expect("valid budget"))
    });
    group.finish();
}

fn accelerator(c: &mut Criterion) {
    let cfg = AcceleratorConfig::preset("vcu1525").expect("built-in preset");
    let model = ModelSpec::by_name("bert-layer", 8, 128).expect("known model");
    let nm28 = NmRatio::new(2, 8).expect("valid ratio");
    let mut group = c.benchmark_group("accelerator");
    group.sample_size(20);
    for (name, nm) in [
        ("bert_layer_step/dense", None),
        ("bert_layer_step/bdwp_2_8", Some(nm28)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                StepSimulator::new(&cfg)
                    .step(&model, nm, &Effects::ALL_ON)
                    .expect("bert-layer fits the preset")
                    .total_cycles()
            })
        });
    }
    let (heads, seq, block) = (8usize, 2048usize, 64usize);
    let dense = Mask::Dense(DenseMask {
        heads,
        seq_len: seq,
        causal: true,
    });
    let nb = seq / block;
    let lists = (0..heads * nb)
        .map(|i| {
            let qb = (i % nb) as u32;
            if qb == 0 {
                vec![0]
            } else {
                vec![0, qb]
            }
        })
        .collect();
    let sparse = Mask::BlockSparse(BlockSparseMask::new(heads, seq, block, true, lists).expect("valid lists"));
    for (name, mask) in [("attention_2k/dense", &dense), ("attention_2k/block_sparse", &sparse)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                simulate_attention(mask, 128, &cfg, &Effects::ALL_ON)
                    .expect("simulates")
                    .cycles()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, roofline, accelerator);
criterion_main!(benches);
