//! A workload: Q, K and V of one attention layer, checked for consistency.

use crate::error::{Result, WorkloadError};
use crate::tensor::HeadTensor;

/// Q `[heads, seq, dim]`, K and V `[kv_heads, seq, dim]`, with query head `h`
/// reading kv head `h / (heads / kv_heads)` (grouped-query attention).
///
/// Constructed only through [`Workload::new`], which checks that the shapes agree
/// and that every value is finite, so downstream code can rely on both.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short description used in result rows, e.g. `synthetic:vertical-slash`.
    pub name: String,
    /// Seed the tensors were generated from (0 for loaded tensors).
    pub seed: u64,
    q: HeadTensor,
    k: HeadTensor,
    v: HeadTensor,
}

impl Workload {
    /// Checks shapes (same seq and dim; kv heads divide q heads) and finiteness.
    pub fn new(name: impl Into<String>, seed: u64, q: HeadTensor, k: HeadTensor, v: HeadTensor) -> Result<Self> {
        if k.shape() != v.shape() {
            return Err(WorkloadError::ShapeMismatch {
                what: format!(
                    "K has shape {:?} but V has shape {:?}; they must be equal",
                    k.shape(),
                    v.shape()
                ),
            });
        }
        if q.seq() != k.seq() || q.dim() != k.dim() {
            return Err(WorkloadError::ShapeMismatch {
                what: format!(
                    "Q has shape {:?} but K has shape {:?}; seq and dim must agree",
                    q.shape(),
                    k.shape()
                ),
            });
        }
        if q.heads() % k.heads() != 0 {
            return Err(WorkloadError::ShapeMismatch {
                what: format!(
                    "Q has {} heads, which is not a multiple of K/V's {} heads (grouped-query attention needs q_heads = g * kv_heads)",
                    q.heads(),
                    k.heads()
                ),
            });
        }
        q.check_finite("Q")?;
        k.check_finite("K")?;
        v.check_finite("V")?;
        Ok(Self {
            name: name.into(),
            seed,
            q,
            k,
            v,
        })
    }

    /// Queries `[heads, seq, dim]`.
    pub fn q(&self) -> &HeadTensor {
        &self.q
    }
    /// Keys `[kv_heads, seq, dim]`.
    pub fn k(&self) -> &HeadTensor {
        &self.k
    }
    /// Values `[kv_heads, seq, dim]`.
    pub fn v(&self) -> &HeadTensor {
        &self.v
    }
    /// Number of query heads.
    pub fn heads(&self) -> usize {
        self.q.heads()
    }
    /// Number of key/value heads.
    pub fn kv_heads(&self) -> usize {
        self.k.heads()
    }
    /// Sequence length.
    pub fn seq_len(&self) -> usize {
        self.q.seq()
    }
    /// Head dimension.
    pub fn head_dim(&self) -> usize {
        self.q.dim()
    }
    /// The kv head that query head `h` attends with.
    pub fn kv_head_of(&self, h: usize) -> usize {
        h / (self.heads() / self.kv_heads())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(heads: usize, seq: usize, dim: usize) -> HeadTensor {
        HeadTensor::new("t", heads, seq, dim, vec![0.5; heads * seq * dim]).unwrap()
    }

    #[test]
    fn gqa_maps_groups_of_heads() {
        let w = Workload::new("w", 0, t(8, 5, 4), t(2, 5, 4), t(2, 5, 4)).unwrap();
        assert_eq!(
            (0..8).map(|h| w.kv_head_of(h)).collect::<Vec<_>>(),
            [0, 0, 0, 0, 1, 1, 1, 1]
        );
    }

    #[test]
    fn mismatched_shapes_are_named() {
        let e = Workload::new("w", 0, t(2, 5, 4), t(2, 6, 4), t(2, 6, 4)).unwrap_err();
        assert!(e.to_string().contains("seq and dim must agree"), "{e}");
        let e = Workload::new("w", 0, t(3, 5, 4), t(2, 5, 4), t(2, 5, 4)).unwrap_err();
        assert!(e.to_string().contains("not a multiple"), "{e}");
        let e = Workload::new("w", 0, t(2, 5, 4), t(2, 5, 4), t(1, 5, 4)).unwrap_err();
        assert!(e.to_string().contains("V has shape"), "{e}");
    }

    #[test]
    fn nan_input_is_rejected() {
        let mut k = t(1, 5, 4);
        k.data_mut()[3] = f32::NAN;
        let e = Workload::new("w", 0, t(1, 5, 4), k, t(1, 5, 4)).unwrap_err();
        assert!(matches!(e, WorkloadError::NonFinite { .. }), "{e}");
        assert!(e.to_string().contains("`K`"));
    }
}
