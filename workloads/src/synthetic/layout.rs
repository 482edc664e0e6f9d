//! Which dimensions of a head carry which component.
//!
//! Every component lives in its own dimensions, so the logits are exactly the
//! sum of the planted terms (no cross terms between structure and noise):
//!
//! | dims | component | key side | query side |
//! |---|---|---|---|
//! | 1 | sink | flag on the first [`super::plan::SINK_TOKENS`] keys | `sink` |
//! | 1 | vertical | flag on the vertical columns | `vertical` |
//! | [`CLUSTERS`] | block | one-hot cluster of the key's segment | `block` on the query's cluster |
//! | 4 (head dim < 128) or 8 | retrieval | one-hot on each pair's target key | `retrieval` on the pair's query |
//! | 1 + 2 x pairs | local window and slashes | `[1, cos(w_k j), sin(w_k j)...]`, zero on sink and vertical keys | bump coefficients rotated to `i` |
//! | head dim / 4 (+1 if odd) | noise | i.i.d. | i.i.d. scaled by `noise` |
//!
//! Sink and vertical keys carry no position, so they are not boosted again when
//! they fall inside the local window or a slash band (their logit would double
//! and one key would take a whole row).

use crate::error::{Result, WorkloadError};
use std::ops::Range;

/// Block clusters (segments of the sequence share one of these directions).
pub const CLUSTERS: usize = 8;

/// Smallest head dimension the layout fits in.
pub const MIN_HEAD_DIM: usize = 32;

/// Dimension ranges of one head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub dim: usize,
    pub sink: usize,
    pub vertical: usize,
    pub cluster: Range<usize>,
    pub retrieval: Range<usize>,
    /// `1 + 2 * pairs` dims: the constant, then cos and sin of each frequency, interleaved.
    pub positional: Range<usize>,
    pub noise: Range<usize>,
}

impl Layout {
    /// The layout for `dim` dims; errors below [`MIN_HEAD_DIM`].
    pub fn new(dim: usize) -> Result<Self> {
        if dim < MIN_HEAD_DIM {
            return Err(WorkloadError::invalid(
                "head_dim",
                dim,
                format!(
                    "synthetic profiles need at least {MIN_HEAD_DIM} dims for their sink, vertical, cluster, \
                     retrieval, positional and noise components; use 64 or 128"
                ),
            ));
        }
        let retrieval_dims = if dim >= 128 { 8 } else { 4 };
        let noise_dims = dim / 4;
        let pairs = (dim - 3 - CLUSTERS - retrieval_dims - noise_dims) / 2;
        let cluster = 2..2 + CLUSTERS;
        let retrieval = cluster.end..cluster.end + retrieval_dims;
        let positional = retrieval.end..retrieval.end + 1 + 2 * pairs;
        let noise = positional.end..dim;
        Ok(Self {
            dim,
            sink: 0,
            vertical: 1,
            cluster,
            retrieval,
            positional,
            noise,
        })
    }

    /// Rotary frequency pairs.
    pub fn pairs(&self) -> usize {
        (self.positional.len() - 1) / 2
    }

    /// Retrieval pairs the layout can hold.
    pub fn retrieval_slots(&self) -> usize {
        self.retrieval.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_tile_the_head() {
        for dim in [32, 63, 64, 96, 128, 256] {
            let l = Layout::new(dim).unwrap();
            assert_eq!(l.noise.end, dim);
            assert!(l.noise.len() >= dim / 4 && l.pairs() >= 4, "{dim}: {l:?}");
        }
        assert_eq!(Layout::new(64).unwrap().pairs(), 16);
        assert_eq!(Layout::new(128).unwrap().pairs(), 38);
        let e = Layout::new(16).unwrap_err().to_string();
        assert!(e.contains("head_dim = 16") && e.contains("at least 32"), "{e}");
    }
}
