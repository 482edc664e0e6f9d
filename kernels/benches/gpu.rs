//! GPU attention kernels through criterion: dense and block-sparse at 16384 tokens (32 heads, head
//! dim 128, causal, bf16), with CUDA-event timing.
//!
//! Timing model: `iter_custom` runs `iters` launches; each launch sits between two CUDA events on the
//! kernel's stream (`AttentionRun::time_ms`, after 3 untimed warm-up launches per sample) and the
//! sample is the sum of the event times, so host overhead and launch gaps are not counted. Inputs are
//! not rotated: Q, K and V are 128 MiB each, beyond any L2. Throughput is in dense-equivalent FLOPs
//! (`4 heads L^2 D / 2`), so criterion's "elem/s" reads as dense-equivalent FLOP/s.
//! The block-sparse mask keeps each 128-token query block's diagonal key block and every earlier one
//! with probability 0.1 (seeded).
//!
//! Without a CUDA GPU (or NVRTC) it prints why it skipped and exits 0, so `cargo bench` runs anywhere.
//! On a GPU: `cargo bench -p sparselab-kernels --bench gpu`.

use criterion::{Criterion, Throughput};
use sparselab_kernels::cuda::{AttentionParams, AttentionRun, ElemType, Gpu, TileConfig};
use sparselab_kernels::mask::BlockSparseMask;
use sparselab_workloads::SeededRng;
use std::time::Duration;

const SEQ: usize = 16_384;
const HEADS: usize = 32;
const DIM: usize = 128;
const BLOCK: usize = 128;
const DENSITY: f64 = 0.1;

fn random_bf16(rng: &mut SeededRng, n: usize) -> Vec<u16> {
    let values: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    ElemType::Bf16
        .to_bits("input", &values)
        .expect("uniform values are finite")
}

fn random_block_mask(rng: &mut SeededRng) -> BlockSparseMask {
    let nb = SEQ / BLOCK;
    let lists = (0..HEADS * nb)
        .map(|i| {
            let qb = i % nb;
            (0..=qb as u32)
                .filter(|&kb| kb as usize == qb || rng.uniform() < DENSITY)
                .collect()
        })
        .collect();
    BlockSparseMask::new(HEADS, SEQ, BLOCK, true, lists).expect("lists are sorted and causal")
}

/// Times `iters` launches of `run` with CUDA events; the sum of the per-launch event times.
fn event_time(run: &mut AttentionRun<'_>, iters: u64) -> Duration {
    let times = run.time_ms(3, iters as usize).expect("the kernel launches");
    Duration::from_secs_f64(times.iter().map(|&ms| f64::from(ms)).sum::<f64>() / 1e3)
}

fn main() {
    let gpu = match Gpu::new(0) {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("gpu benchmarks skipped: no usable CUDA GPU ({e})");
            return;
        }
    };
    let mut rng = SeededRng::new(0, 6);
    let params = AttentionParams {
        heads: HEADS,
        kv_heads: HEADS,
        seq_len: SEQ,
        head_dim: DIM,
        causal: true,
        tile: TileConfig::W4M2,
        elem: ElemType::Bf16,
    };
    let q = random_bf16(&mut rng, HEADS * SEQ * DIM);
    let k = random_bf16(&mut rng, HEADS * SEQ * DIM);
    let v = random_bf16(&mut rng, HEADS * SEQ * DIM);
    let mask = random_block_mask(&mut rng);
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group(format!("gpu_attention/{}", gpu.name()));
    group.sample_size(20);
    group.throughput(Throughput::Elements(
        (4.0 * (HEADS * SEQ * SEQ * DIM) as f64 / 2.0) as u64,
    ));
    let mut dense = AttentionRun::new(&gpu, params, &q, &k, &v, None).expect("dense run uploads");
    group.bench_function(format!("dense_causal_L{SEQ}_H{HEADS}_D{DIM}"), |b| {
        b.iter_custom(|iters| event_time(&mut dense, iters))
    });
    let mut sparse = AttentionRun::new(&gpu, params, &q, &k, &v, Some(&mask)).expect("block run uploads");
    group.bench_function(
        format!("block_sparse_{BLOCK}_d{DENSITY}_causal_L{SEQ}_H{HEADS}_D{DIM}"),
        |b| b.iter_custom(|iters| event_time(&mut sparse, iters)),
    );
    group.finish();
    c.final_summary();
}
