//! Attention under a mask at a few chosen rows only.
//!
//! Tasks read the output at their query rows (MQAR's queries, NIAH's question),
//! so computing every row as `reference::attention` does would waste almost all
//! of the work at long lengths (a 128k-token NIAH reads 1-4 rows per head). This
//! computes exactly the same thing for the listed rows: the mask's [`KeyPlan`] for
//! the row's 64-row block, filtered by `keeps`, then a softmax in f64 over the
//! f32 scaled scores. A test checks it against the reference on every format.

use anyhow::{ensure, Result};
use rayon::prelude::*;
use sparselab_kernels::mask::{KeyPlan, MaskFormat, REFERENCE_TILE};
use sparselab_kernels::Mask;
use sparselab_workloads::tasks::Probe;
use sparselab_workloads::Workload;

/// Output rows `[probes, head_dim]` of softmax(Q K^T / sqrt(d)) V under `mask`, at `probes`.
/// A row that keeps no key gives zeros (as the reference does).
pub fn attention_at(w: &Workload, mask: &Mask, probes: &[Probe]) -> Result<Vec<f32>> {
    ensure!(
        mask.heads() == w.heads() && mask.seq_len() == w.seq_len(),
        "{} mask is for {} heads x {} tokens but the workload has {} heads x {} tokens",
        mask.format_name(),
        mask.heads(),
        mask.seq_len(),
        w.heads(),
        w.seq_len()
    );
    for p in probes {
        ensure!(
            p.head < w.heads() && p.row < w.seq_len(),
            "probe (head {}, row {}) is outside the workload ({} heads x {} tokens)",
            p.head,
            p.row,
            w.heads(),
            w.seq_len()
        );
    }
    let d = w.head_dim();
    let rows: Vec<Vec<f32>> = probes
        .par_iter()
        .map_init(
            || (KeyPlan::default(), Vec::new()),
            |(plan, keys), p| one_row(w, mask, *p, plan, keys),
        )
        .collect();
    let mut out = Vec::with_capacity(probes.len() * d);
    rows.into_iter().for_each(|r| out.extend(r));
    Ok(out)
}

fn one_row(w: &Workload, mask: &Mask, p: Probe, plan: &mut KeyPlan, keys: &mut Vec<u32>) -> Vec<f32> {
    let d = w.head_dim();
    let r0 = p.row / REFERENCE_TILE * REFERENCE_TILE;
    let r1 = (r0 + REFERENCE_TILE).min(w.seq_len());
    plan.clear();
    mask.plan_rows(p.head, r0, r1, plan);
    keys.clear();
    plan.keys_into(keys);
    let kvh = w.kv_head_of(p.head);
    let scale = 1.0 / (d as f32).sqrt();
    let q: Vec<f32> = w.q().row(p.head, p.row).iter().map(|x| x * scale).collect();
    let kept: Vec<(u32, f64)> = keys
        .iter()
        .filter(|&&k| mask.keeps(p.head, p.row, k as usize))
        .map(|&k| {
            let s: f32 = q.iter().zip(w.k().row(kvh, k as usize)).map(|(a, b)| a * b).sum();
            (k, s as f64)
        })
        .collect();
    let mut acc = vec![0.0f64; d];
    let max = kept.iter().map(|&(_, s)| s).fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return vec![0.0; d];
    }
    let mut sum = 0.0f64;
    for &(k, s) in &kept {
        let e = (s - max).exp();
        sum += e;
        for (a, v) in acc.iter_mut().zip(w.v().row(kvh, k as usize)) {
            *a += e * *v as f64;
        }
    }
    acc.into_iter().map(|a| (a / sum) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_kernels::mask::{BlockSparseMask, DenseMask, KeyListMask, StreamingMask, VerticalSlashMask};
    use sparselab_kernels::reference::{attention, ReferenceOptions};
    use sparselab_workloads::{HeadTensor, SeededRng};

    fn workload(heads: usize, kv: usize, seq: usize, dim: usize) -> Workload {
        let mut rng = SeededRng::new(3, 0);
        let mut t = |h: usize| {
            HeadTensor::new(
                "t",
                h,
                seq,
                dim,
                (0..h * seq * dim).map(|_| rng.normal() as f32).collect(),
            )
            .unwrap()
        };
        let (q, k, v) = (t(heads), t(kv), t(kv));
        Workload::new("test", 0, q, k, v).unwrap()
    }

    #[test]
    fn matches_the_reference_on_every_format() {
        let (h, l) = (4, 200);
        let w = workload(h, 2, l, 16);
        let key_rows: Vec<Vec<u32>> = (0..h * l)
            .map(|i| (0..=(i % l) as u32).filter(|k| k % 3 == 0).collect())
            .collect();
        let blocks: Vec<Vec<u32>> = (0..h * l.div_ceil(64)).map(|i| vec![0, (i % 4) as u32]).collect();
        let masks = [
            Mask::Dense(DenseMask {
                heads: h,
                seq_len: l,
                causal: true,
            }),
            Mask::Streaming(StreamingMask::new(h, l, 4, 30).unwrap()),
            Mask::KeyList(KeyListMask::from_rows(h, l, true, key_rows).unwrap()),
            Mask::BlockSparse(BlockSparseMask::new(h, l, 64, true, blocks).unwrap()),
            Mask::VerticalSlash(
                VerticalSlashMask::new(h, l, vec![vec![0, 5, 77]; h], vec![vec![0, 1, 50]; h]).unwrap(),
            ),
        ];
        let probes: Vec<Probe> = [(0, 0), (1, 63), (2, 64), (3, 199), (0, 130), (3, 77)]
            .iter()
            .map(|&(head, row)| Probe { head, row })
            .collect();
        for mask in &masks {
            let reference = attention(&w, mask, &ReferenceOptions::default()).unwrap();
            let ours = attention_at(&w, mask, &probes).unwrap();
            for (p, row) in probes.iter().zip(ours.chunks(16)) {
                for (a, b) in row.iter().zip(reference.out.row(p.head, p.row)) {
                    assert!((a - b).abs() < 1e-5, "{}: {a} vs {b} at {p:?}", mask.format_name());
                }
            }
        }
    }

    #[test]
    fn probes_outside_the_workload_are_errors() {
        let w = workload(1, 1, 10, 4);
        let mask = Mask::Dense(DenseMask {
            heads: 1,
            seq_len: 10,
            causal: true,
        });
        let e = attention_at(&w, &mask, &[Probe { head: 0, row: 10 }])
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 10"), "{e}");
    }
}
