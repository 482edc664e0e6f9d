//! The reference against a naive f64 softmax over the dense boolean mask.

use super::*;
use crate::mask::{BlockSparseMask, DenseMask, KeyListMask, NmMask, StreamingMask, VerticalSlashMask};
use sparselab_workloads::SeededRng;

pub(crate) fn random_workload(heads: usize, kv_heads: usize, seq: usize, dim: usize, seed: u64) -> Workload {
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

/// Naive f64 attention over the boolean mask: (out, lse).
fn naive(w: &Workload, mask: &Mask) -> (Vec<f64>, Vec<f64>) {
    let (h_n, l, d) = (w.heads(), w.seq_len(), w.head_dim());
    let keep = mask.to_dense_bool();
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0; h_n * l * d];
    let mut lse = vec![f64::NEG_INFINITY; h_n * l];
    for h in 0..h_n {
        let kvh = w.kv_head_of(h);
        for q in 0..l {
            let scores: Vec<(usize, f64)> = (0..l)
                .filter(|&k| keep[(h * l + q) * l + k])
                .map(|k| {
                    let s: f64 = w
                        .q()
                        .row(h, q)
                        .iter()
                        .zip(w.k().row(kvh, k))
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum();
                    (k, s * scale)
                })
                .collect();
            if scores.is_empty() {
                continue;
            }
            let m = scores.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = scores.iter().map(|x| (x.1 - m).exp()).sum();
            lse[h * l + q] = m + z.ln();
            for &(k, s) in &scores {
                let p = (s - m).exp() / z;
                for (o, v) in out[(h * l + q) * d..(h * l + q + 1) * d]
                    .iter_mut()
                    .zip(w.v().row(kvh, k))
                {
                    *o += p * *v as f64;
                }
            }
        }
    }
    (out, lse)
}

fn check(w: &Workload, mask: &Mask, precision: Precision, tol: f64) {
    let got = attention(
        w,
        mask,
        &ReferenceOptions {
            precision,
            block_lse: false,
        },
    )
    .unwrap();
    let (want_out, want_lse) = naive(w, mask);
    let mut worst = 0.0f64;
    for (g, e) in got.out.data().iter().zip(&want_out) {
        worst = worst.max((*g as f64 - e).abs() / (1.0 + e.abs()));
    }
    assert!(worst < tol, "{}: output error {worst}", mask.format_name());
    for (i, (g, e)) in got.lse.iter().zip(&want_lse).enumerate() {
        if e.is_infinite() {
            assert_eq!(*g, f64::NEG_INFINITY, "row {i} keeps nothing");
            assert!(got.out.data()[i * w.head_dim()..(i + 1) * w.head_dim()]
                .iter()
                .all(|&x| x == 0.0));
        } else {
            assert!(
                (g - e).abs() < tol * (1.0 + e.abs()),
                "{}: lse row {i}: {g} vs {e}",
                mask.format_name()
            );
        }
    }
    let keep = mask.to_dense_bool();
    let l = w.seq_len();
    for (i, &k) in got.kept.iter().enumerate() {
        let want = keep[i * l..(i + 1) * l].iter().filter(|&&b| b).count() as u32;
        assert_eq!(k, want, "kept count row {i}");
    }
}

#[test]
fn every_format_matches_naive_f64() {
    // 150 tokens: not a multiple of 64; 4 query heads over 2 kv heads (GQA).
    let (h, l) = (4, 150);
    let w = random_workload(h, 2, l, 16, 11);
    let nb = l.div_ceil(64);
    let mut rng = SeededRng::new(5, 9);
    let blocks: Vec<Vec<u32>> = (0..h * nb)
        .map(|i| (0..=(i % nb) as u32).filter(|_| rng.uniform() < 0.6).collect())
        .collect();
    let rows: Vec<Vec<u32>> = (0..h * l)
        .map(|i| (0..=(i % l) as u32).filter(|_| rng.uniform() < 0.3).collect())
        .collect();
    // 2:4 keeping keys 0 and 2 of every group, minus bits past the causal row end.
    let mut nm_fixed = Vec::new();
    for _ in 0..h {
        for q in 0..l {
            for g in 0..NmMask::groups_in_row(l, true, 4, q) {
                let valid = (q + 1 - g * 4).min(4);
                nm_fixed.push(0b0101u16 & ((1u16 << valid) - 1));
            }
        }
    }
    let masks = vec![
        Mask::Dense(DenseMask {
            heads: h,
            seq_len: l,
            causal: true,
        }),
        Mask::Dense(DenseMask {
            heads: h,
            seq_len: l,
            causal: false,
        }),
        Mask::BlockSparse(BlockSparseMask::new(h, l, 64, true, blocks).unwrap()),
        Mask::VerticalSlash(VerticalSlashMask::new(h, l, vec![vec![0, 3, 90]; h], vec![vec![0, 1, 70]; h]).unwrap()),
        Mask::Streaming(StreamingMask::new(h, l, 4, 20).unwrap()),
        Mask::KeyList(KeyListMask::from_rows(h, l, true, rows).unwrap()),
        Mask::Nm(NmMask::new(h, l, true, 2, 4, nm_fixed).unwrap()),
    ];
    for mask in &masks {
        check(&w, mask, Precision::F64, 1e-6); // outputs are stored as f32
        check(&w, mask, Precision::F32, 2e-5);
    }
}

#[test]
fn empty_rows_give_zeros_and_negative_infinity() {
    let (h, l) = (1, 70);
    let w = random_workload(h, h, l, 8, 3);
    // Rows 0..64 keep nothing; rows 64..70 keep key 0 only.
    let blocks = vec![vec![], vec![0]];
    let mask = Mask::BlockSparse(BlockSparseMask::new(h, l, 64, true, blocks).unwrap());
    let got = attention(&w, &mask, &ReferenceOptions::default()).unwrap();
    assert!(got.out.data().iter().all(|x| !x.is_nan()));
    assert!(got.lse[..64].iter().all(|&x| x == f64::NEG_INFINITY));
    assert!(got.out.data()[..64 * 8].iter().all(|&x| x == 0.0));
    check(&w, &mask, Precision::F64, 1e-6);
    // A row that keeps one key returns that key's value exactly.
    let rows = (0..l).map(|q| if q % 2 == 1 { vec![0] } else { vec![] }).collect();
    let mask = Mask::KeyList(KeyListMask::from_rows(h, l, true, rows).unwrap());
    let got = attention(&w, &mask, &ReferenceOptions::default()).unwrap();
    assert_eq!(got.out.row(0, 65), w.v().row(0, 0));
    assert_eq!(got.lse[64], f64::NEG_INFINITY);
}

#[test]
fn block_lse_sums_to_row_lse() {
    let w = random_workload(2, 1, 200, 16, 4);
    let mask = Mask::Dense(DenseMask {
        heads: 2,
        seq_len: 200,
        causal: true,
    });
    let got = attention(
        &w,
        &mask,
        &ReferenceOptions {
            precision: Precision::F64,
            block_lse: true,
        },
    )
    .unwrap();
    let b = got.block_lse.as_ref().unwrap();
    assert_eq!(b.num_blocks, 4);
    for (row, &lse) in got.lse.iter().enumerate() {
        let vals = &b.values[row * 4..(row + 1) * 4];
        let m = vals.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let total = m + vals.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        assert!((total - lse).abs() < 1e-5, "row {row}: {total} vs {lse}");
        // Causal: blocks after the row's own block are empty.
        let q = row % 200;
        assert!(vals[q / 64 + 1..].iter().all(|&v| v == f32::NEG_INFINITY));
    }
}

#[test]
fn block_lse_needs_a_dense_mask() {
    let w = random_workload(1, 1, 64, 8, 4);
    let mask = Mask::Streaming(StreamingMask::new(1, 64, 1, 4).unwrap());
    assert!(attention(
        &w,
        &mask,
        &ReferenceOptions {
            precision: Precision::F32,
            block_lse: true
        }
    )
    .is_err());
}

#[test]
fn mask_of_the_wrong_size_is_rejected() {
    let w = random_workload(2, 2, 64, 8, 4);
    let mask = Mask::Dense(DenseMask {
        heads: 3,
        seq_len: 64,
        causal: true,
    });
    let e = attention(&w, &mask, &ReferenceOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("3 heads") && e.contains("2 heads"), "{e}");
}
