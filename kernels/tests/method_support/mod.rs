//! Workloads and reference passes shared by the method tests.

#![allow(dead_code)]

use sparselab_kernels::mask::{DenseMask, Mask};
use sparselab_kernels::reference::{attention, AttentionOutput, Precision, ReferenceOptions};
use sparselab_workloads::{HeadTensor, SeededRng, Workload};

/// Gaussian Q, K (std 1.5) and V (std 1), `kv_heads` dividing `heads`.
pub fn random_workload(heads: usize, kv_heads: usize, seq: usize, dim: usize, seed: u64) -> Workload {
    let mut rng = SeededRng::new(seed, 0);
    let mut t = |h: usize, scale: f64| {
        let data = (0..h * seq * dim).map(|_| (rng.normal() * scale) as f32).collect();
        HeadTensor::new("t", h, seq, dim, data).unwrap()
    };
    let q = t(heads, 1.5);
    let k = t(kv_heads, 1.5);
    let v = t(kv_heads, 1.0);
    Workload::new("random", seed, q, k, v).unwrap()
}

/// Unit-variance noise plus two planted lines in every head: a shared
/// direction `u` added to every query and to key `column` (a vertical line),
/// and per-position directions `r_p` added to query `p` and to key `p - offset`
/// (a slash at that offset). Both score about `strength^2 / sqrt(dim)` logits.
pub fn planted_workload(heads: usize, seq: usize, dim: usize, column: usize, offset: usize, seed: u64) -> Workload {
    let strength = 9.0f32;
    let mut rng = SeededRng::new(seed, 1);
    let mut q: Vec<f32> = (0..heads * seq * dim).map(|_| rng.normal() as f32).collect();
    let mut k: Vec<f32> = (0..heads * seq * dim).map(|_| rng.normal() as f32).collect();
    let v: Vec<f32> = (0..heads * seq * dim).map(|_| rng.normal() as f32).collect();
    for h in 0..heads {
        let u = rng.unit_vector(dim);
        let r: Vec<Vec<f32>> = (0..seq).map(|_| rng.unit_vector(dim)).collect();
        for p in 0..seq {
            let row = &mut q[(h * seq + p) * dim..(h * seq + p + 1) * dim];
            for d in 0..dim {
                row[d] += strength * (u[d] + r[p][d]);
            }
        }
        for d in 0..dim {
            k[(h * seq + column) * dim + d] += strength * u[d];
        }
        for (p, dir) in r.iter().enumerate().skip(offset) {
            let key = p - offset;
            for (d, x) in dir.iter().enumerate() {
                k[(h * seq + key) * dim + d] += strength * x;
            }
        }
    }
    let t = |data| HeadTensor::new("t", heads, seq, dim, data).unwrap();
    Workload::new("planted", seed, t(q), t(k), t(v)).unwrap()
}

/// The dense pass with per-block lse, as oracles need it.
pub fn dense_pass(w: &Workload, causal: bool, precision: Precision) -> AttentionOutput {
    let mask = Mask::Dense(DenseMask {
        heads: w.heads(),
        seq_len: w.seq_len(),
        causal,
    });
    attention(
        w,
        &mask,
        &ReferenceOptions {
            precision,
            block_lse: true,
        },
    )
    .unwrap()
}
