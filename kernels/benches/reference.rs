//! Throughput of the CPU reference attention, against this machine's own GEMM
//! ceiling measured in the same run.
//!
//! Timing model: criterion's warm-up then sampled iterations of whole calls;
//! throughput is reported in FLOPs (4 * L^2 * D, halved when causal), so
//! criterion's "elem/s" reads as FLOP/s. The `sgemm_ceiling` group times a
//! square f32 GEMM of matrixmultiply on all threads (split by rows with rayon),
//! the best this code base's building block can do here.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;
use sparselab_kernels::mask::{DenseMask, Mask};
use sparselab_kernels::reference::{attention, ReferenceOptions};
use sparselab_workloads::{HeadTensor, SeededRng, Workload};

fn random_workload(heads: usize, seq: usize, dim: usize) -> Workload {
    let mut rng = SeededRng::new(1, 0);
    let mut t = |h: usize| {
        let data = (0..h * seq * dim).map(|_| rng.normal() as f32).collect();
        HeadTensor::new("t", h, seq, dim, data).expect("shape is consistent")
    };
    let (q, k, v) = (t(heads), t(heads), t(heads));
    Workload::new("bench", 1, q, k, v).expect("random tensors are finite")
}

fn dense_reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("dense_reference_attention");
    group.sample_size(10);
    for (seq, causal) in [(8192usize, false), (8192, true)] {
        let dim = 128;
        let w = random_workload(1, seq, dim);
        let mask = Mask::Dense(DenseMask {
            heads: 1,
            seq_len: seq,
            causal,
        });
        let flops = 4.0 * (seq * seq * dim) as f64 * if causal { 0.5 } else { 1.0 };
        group.throughput(Throughput::Elements(flops as u64));
        let id = BenchmarkId::new(if causal { "causal" } else { "full" }, format!("L{seq}_D{dim}_H1"));
        group.bench_function(id, |b| {
            b.iter(|| attention(&w, &mask, &ReferenceOptions::default()).expect("fits"))
        });
    }
    group.finish();
}

fn sgemm_ceiling(c: &mut Criterion) {
    let n = 1024usize;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32).collect();
    let mut out = vec![0f32; n * n];
    let mut group = c.benchmark_group("sgemm_ceiling");
    group.sample_size(10);
    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    group.bench_function(format!("{n}x{n}x{n}_all_threads"), |bench| {
        bench.iter(|| {
            let rows = n / rayon::current_num_threads().max(1);
            out.par_chunks_mut(rows * n).enumerate().for_each(|(i, chunk)| {
                let m = chunk.len() / n;
                // SAFETY: A rows [i*rows, i*rows+m) x n, B n x n and the output chunk
                // m x n are in bounds and disjoint; strides are row-major.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        n,
                        n,
                        1.0,
                        a[i * rows * n..].as_ptr(),
                        n as isize,
                        1,
                        b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        chunk.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, dense_reference, sgemm_ceiling);
criterion_main!(benches);
