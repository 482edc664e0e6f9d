//! `[heads, seq, dim]` tensors of f32, the host layout of Q, K and V.

use crate::error::{Result, WorkloadError};

/// A dense row-major tensor of shape `[heads, seq, dim]` in f32.
///
/// Element `(h, i, d)` lives at `data[(h * seq + i) * dim + d]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadTensor {
    heads: usize,
    seq: usize,
    dim: usize,
    data: Vec<f32>,
}

impl HeadTensor {
    /// Wraps `data` as `[heads, seq, dim]`; `name` is used in the error if the
    /// length is wrong or a dimension is zero.
    pub fn new(name: &str, heads: usize, seq: usize, dim: usize, data: Vec<f32>) -> Result<Self> {
        for (dim_name, value) in [("heads", heads), ("seq", seq), ("dim", dim)] {
            if value == 0 {
                return Err(WorkloadError::invalid(
                    &format!("{name}.{dim_name}"),
                    value,
                    "every dimension of a tensor must be at least 1",
                ));
            }
        }
        let expected = heads * seq * dim;
        if data.len() != expected {
            return Err(WorkloadError::LengthMismatch {
                tensor: name.to_string(),
                shape: vec![heads, seq, dim],
                expected,
                actual: data.len(),
            });
        }
        Ok(Self { heads, seq, dim, data })
    }

    /// A tensor of zeros (used for outputs that are written before they are read).
    pub fn zeros(heads: usize, seq: usize, dim: usize) -> Self {
        Self {
            heads,
            seq,
            dim,
            data: vec![0.0; heads * seq * dim],
        }
    }

    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }
    /// Sequence length.
    pub fn seq(&self) -> usize {
        self.seq
    }
    /// Head dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// The shape as `[heads, seq, dim]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.heads, self.seq, self.dim]
    }
    /// All elements, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// All elements, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
    /// Consumes the tensor and returns its elements.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
    /// One head as a `[seq, dim]` slice.
    pub fn head(&self, h: usize) -> &[f32] {
        let n = self.seq * self.dim;
        &self.data[h * n..(h + 1) * n]
    }
    /// One head, mutable.
    pub fn head_mut(&mut self, h: usize) -> &mut [f32] {
        let n = self.seq * self.dim;
        &mut self.data[h * n..(h + 1) * n]
    }
    /// One row `(h, i)` as a `[dim]` slice.
    pub fn row(&self, h: usize, i: usize) -> &[f32] {
        let start = (h * self.seq + i) * self.dim;
        &self.data[start..start + self.dim]
    }
    /// One row, mutable.
    pub fn row_mut(&mut self, h: usize, i: usize) -> &mut [f32] {
        let start = (h * self.seq + i) * self.dim;
        &mut self.data[start..start + self.dim]
    }

    /// Errors with the position of the first NaN or infinity, if any.
    pub fn check_finite(&self, name: &str) -> Result<()> {
        match self.data.iter().position(|x| !x.is_finite()) {
            None => Ok(()),
            Some(at) => {
                let col = at % self.dim;
                let row = (at / self.dim) % self.seq;
                let head = at / (self.dim * self.seq);
                Err(WorkloadError::NonFinite {
                    tensor: name.to_string(),
                    head,
                    row,
                    col,
                    value: self.data[at],
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_length_names_the_tensor_and_shape() {
        let err = HeadTensor::new("q", 2, 3, 4, vec![0.0; 23]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`q`") && msg.contains("[2, 3, 4]") && msg.contains("24"),
            "{msg}"
        );
    }

    #[test]
    fn zero_dimension_is_rejected() {
        let err = HeadTensor::new("k", 0, 3, 4, vec![]).unwrap_err();
        assert!(err.to_string().contains("k.heads"), "{err}");
    }

    #[test]
    fn nan_is_located() {
        let mut data = vec![1.0; 2 * 3 * 4];
        data[(3 + 2) * 4 + 1] = f32::NAN;
        let t = HeadTensor::new("v", 2, 3, 4, data).unwrap();
        match t.check_finite("v").unwrap_err() {
            WorkloadError::NonFinite { head, row, col, .. } => assert_eq!((head, row, col), (1, 2, 1)),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn rows_index_row_major() {
        let data: Vec<f32> = (0..24).map(|x| x as f32).collect();
        let t = HeadTensor::new("x", 2, 3, 4, data).unwrap();
        assert_eq!(t.row(1, 2), &[20.0, 21.0, 22.0, 23.0]);
        assert_eq!(t.head(1)[0], 12.0);
    }
}
