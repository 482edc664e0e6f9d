//! A naive causal attention at chosen rows, for tests in this crate (the real
//! executors live in the kernels crate, which depends on this one).

use super::Probe;
use crate::Workload;

/// softmax(q K^T / sqrt(d)) V at each probe, over the keys `keep(head, row, key)` allows
/// (and `key <= row`), in f64. Returns `[probes, dim]`.
pub fn attend(w: &Workload, probes: &[Probe], keep: impl Fn(usize, usize, usize) -> bool) -> Vec<f32> {
    let d = w.head_dim();
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = Vec::with_capacity(probes.len() * d);
    for p in probes {
        let kvh = w.kv_head_of(p.head);
        let q = w.q().row(p.head, p.row);
        let keys: Vec<usize> = (0..=p.row).filter(|&k| keep(p.head, p.row, k)).collect();
        let logits: Vec<f64> = keys
            .iter()
            .map(|&k| {
                q.iter()
                    .zip(w.k().row(kvh, k))
                    .map(|(a, b)| *a as f64 * *b as f64)
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let z: f64 = weights.iter().sum();
        let mut acc = vec![0.0f64; d];
        for (&k, wgt) in keys.iter().zip(&weights) {
            for (a, v) in acc.iter_mut().zip(w.v().row(kvh, k)) {
                *a += wgt / z * *v as f64;
            }
        }
        out.extend(acc.into_iter().map(|x| x as f32));
    }
    out
}
