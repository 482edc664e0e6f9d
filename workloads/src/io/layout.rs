//! From three arrays read from files to a checked [`Workload`], and back.
//!
//! Accepted layouts, the same for Q, K and V:
//!
//! | rank | layout | becomes |
//! |---|---|---|
//! | 2 | `[seq, dim]` | one head |
//! | 3 | `[heads, seq, dim]` | as is |
//! | 4 | `[batch, heads, seq, dim]` | `batch * heads` heads, batch-major |
//!
//! Folding the batch into heads keeps grouped-query attention right: query head
//! `b * H + h` reads kv head `(b * H + h) / g = b * H_kv + h / g` for `g = H / H_kv`,
//! which is head `h / g` of the same batch element.

use super::npy::Array;
use crate::error::{Result, WorkloadError};
use crate::{HeadTensor, Workload};

/// Splits a shape into `(batch, heads, seq, dim)`, or says which layouts are accepted.
fn split(name: &str, source: &str, shape: &[usize]) -> Result<(usize, usize, usize, usize)> {
    let dims = match *shape {
        [s, d] => (1, 1, s, d),
        [h, s, d] => (1, h, s, d),
        [b, h, s, d] => (b, h, s, d),
        _ => {
            return Err(WorkloadError::ShapeMismatch {
                what: format!(
                    "tensor `{name}` in {source} has shape {shape:?} (rank {}); expected [heads, seq, dim] or [batch, heads, seq, dim]",
                    shape.len()
                ),
            })
        }
    };
    if shape.contains(&0) {
        return Err(WorkloadError::ShapeMismatch {
            what: format!("tensor `{name}` in {source} has shape {shape:?}; no dimension may be 0"),
        });
    }
    Ok(dims)
}

/// Checks that Q, K and V agree (same rank and batch; K = V; same seq and dim;
/// K/V heads dividing Q heads) and builds the workload. `source` names the file
/// or folder in errors; `names` are the tensors' names in it.
pub fn workload_from_arrays(
    label: String,
    seed: u64,
    source: &str,
    names: [&str; 3],
    [q, k, v]: [Array; 3],
) -> Result<Workload> {
    let [qn, kn, vn] = names;
    if q.shape.len() != k.shape.len() || k.shape.len() != v.shape.len() {
        return Err(WorkloadError::ShapeMismatch {
            what: format!(
                "tensors in {source} have different ranks: `{qn}` {:?}, `{kn}` {:?}, `{vn}` {:?}; all must be [heads, seq, dim] or all [batch, heads, seq, dim]",
                q.shape, k.shape, v.shape
            ),
        });
    }
    let (qb, qh, qs, qd) = split(qn, source, &q.shape)?;
    let (kb, kh, ks, kd) = split(kn, source, &k.shape)?;
    split(vn, source, &v.shape)?;
    let expected_kv = |heads: &str| -> String {
        let mut dims = Vec::new();
        if q.shape.len() == 4 {
            dims.push(qb.to_string());
        }
        if q.shape.len() >= 3 {
            dims.push(heads.to_string());
        }
        dims.push(qs.to_string());
        dims.push(qd.to_string());
        format!("[{}]", dims.join(", "))
    };
    if kb != qb || ks != qs || kd != qd || qh % kh != 0 {
        return Err(WorkloadError::ShapeMismatch {
            what: format!(
                "tensor `{kn}` in {source} has shape {:?}; expected {} (Q's batch, seq and dim) with H_kv dividing Q's {qh} heads",
                k.shape,
                expected_kv("H_kv")
            ),
        });
    }
    if v.shape != k.shape {
        return Err(WorkloadError::ShapeMismatch {
            what: format!(
                "tensor `{vn}` in {source} has shape {:?}; expected {:?}, the shape of `{kn}`",
                v.shape, k.shape
            ),
        });
    }
    let q = HeadTensor::new(qn, qb * qh, qs, qd, q.data)?;
    let k = HeadTensor::new(kn, kb * kh, ks, kd, k.data)?;
    let v = HeadTensor::new(vn, kb * kh, ks, kd, v.data)?;
    Workload::new(label, seed, q, k, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::FileDtype;

    fn arr(shape: &[usize]) -> Array {
        let n = shape.iter().product::<usize>();
        Array {
            shape: shape.to_vec(),
            dtype: FileDtype::F32,
            data: (0..n).map(|i| i as f32 * 1e-3).collect(),
        }
    }

    fn build(q: &[usize], k: &[usize], v: &[usize]) -> Result<Workload> {
        workload_from_arrays(
            "t".into(),
            0,
            "t.safetensors",
            ["q", "k", "v"],
            [arr(q), arr(k), arr(v)],
        )
    }

    #[test]
    fn batch_folds_into_heads_with_the_gqa_map_intact() {
        let w = build(&[2, 4, 8, 3], &[2, 2, 8, 3], &[2, 2, 8, 3]).unwrap();
        assert_eq!((w.heads(), w.kv_heads(), w.seq_len(), w.head_dim()), (8, 4, 8, 3));
        // Query head 5 is batch 1, head 1; with g = 2 it reads batch 1's kv head 0 = folded head 2.
        assert_eq!(w.kv_head_of(5), 2);
        // Element (b=1, h=1, s=2, d=0) of Q.
        assert_eq!(w.q().row(5, 2)[0], ((5 * 8 + 2) * 3) as f32 * 1e-3);
    }

    #[test]
    fn two_and_three_dimensional_layouts() {
        assert_eq!(build(&[8, 3], &[8, 3], &[8, 3]).unwrap().heads(), 1);
        assert_eq!(build(&[4, 8, 3], &[1, 8, 3], &[1, 8, 3]).unwrap().kv_heads(), 1);
    }

    #[test]
    fn errors_name_the_tensor_and_the_expected_shape() {
        let e = build(&[4, 8, 3], &[3, 8, 3], &[3, 8, 3]).unwrap_err().to_string();
        assert!(
            e.contains("`k`") && e.contains("[3, 8, 3]") && e.contains("[H_kv, 8, 3]"),
            "{e}"
        );
        let e = build(&[2, 4, 8, 3], &[2, 4, 9, 3], &[2, 4, 9, 3])
            .unwrap_err()
            .to_string();
        assert!(e.contains("[2, H_kv, 8, 3]"), "{e}");
        let e = build(&[4, 8, 3], &[4, 8, 3], &[4, 8, 4]).unwrap_err().to_string();
        assert!(e.contains("`v`") && e.contains("[4, 8, 3], the shape of `k`"), "{e}");
        let e = build(&[4, 8, 3], &[1, 4, 8, 3], &[1, 4, 8, 3]).unwrap_err().to_string();
        assert!(e.contains("different ranks"), "{e}");
        let e = build(&[1, 1, 4, 8, 3], &[1, 1, 4, 8, 3], &[1, 1, 4, 8, 3])
            .unwrap_err()
            .to_string();
        assert!(e.contains("rank 5"), "{e}");
    }
}
