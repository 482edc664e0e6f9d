//! Selection cost of every registered method on the CPU: `Method::select` on one small synthetic
//! workload (4096 tokens x 2 heads x head dim 64, `mixed` profile, seed 0), each method at its
//! defaults (budgets capped to the sequence, as the methods cap them).
//!
//! Timing model: criterion's warm-up, then sampled iterations of one whole `select` call (scoring,
//! top-k, building the mask). The oracles' dense reference pass (with per-block lse) is computed
//! once outside the timed loop, as `sparselab recall` shares it between methods; their time is the
//! selection from it. Throughput is in query rows (heads x tokens), so "elem/s" reads as rows/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sparselab_kernels::mask::{DenseMask, Mask};
use sparselab_kernels::method::{method_catalog, parse_method, SelectionContext};
use sparselab_kernels::reference::{attention, Precision, ReferenceOptions};
use sparselab_workloads::synthetic::{generate, SyntheticSpec};

const SEQ: usize = 4096;
const HEADS: usize = 2;
const DIM: usize = 64;

fn selection(c: &mut Criterion) {
    let workload = generate(&SyntheticSpec {
        profile: "mixed".into(),
        seq_len: SEQ,
        heads: HEADS,
        kv_heads: HEADS,
        head_dim: DIM,
        seed: 0,
    })
    .expect("the synthetic workload builds");
    let dense_mask = Mask::Dense(DenseMask {
        heads: HEADS,
        seq_len: SEQ,
        causal: true,
    });
    let dense = attention(
        &workload,
        &dense_mask,
        &ReferenceOptions {
            precision: Precision::F32,
            block_lse: true,
        },
    )
    .expect("the dense pass fits");
    let mut group = c.benchmark_group("method_select");
    group.sample_size(10);
    group.throughput(Throughput::Elements((HEADS * SEQ) as u64));
    for entry in method_catalog() {
        let method = parse_method(entry.name).expect("registered methods parse at their defaults");
        let ctx = SelectionContext {
            workload: &workload,
            causal: true,
            dense: method.needs_dense_reference().then_some(&dense),
        };
        let id = BenchmarkId::new(entry.name, format!("L{SEQ}_H{HEADS}_D{DIM}"));
        group.bench_function(id, |b| b.iter(|| method.select(&ctx).expect("selection succeeds")));
    }
    group.finish();
}

criterion_group!(benches, selection);
criterion_main!(benches);
