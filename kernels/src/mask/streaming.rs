//! Streaming (A-shape) masks: attention sinks plus a local window.

use super::{block_len, num_blocks, KeyPlan, MaskFormat, REFERENCE_TILE};
use crate::error::{KernelError, Result};

/// Each query keeps the first `sink` keys and the `window` most recent keys
/// (itself included), as in StreamingLLM and MInference's A-shape heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingMask {
    heads: usize,
    seq_len: usize,
    sink: usize,
    window: usize,
}

impl StreamingMask {
    /// Causal sink + window mask; `window` must be at least 1 (the query itself).
    pub fn new(heads: usize, seq_len: usize, sink: usize, window: usize) -> Result<Self> {
        if window == 0 {
            return Err(KernelError::invalid_mask(
                "streaming",
                "window must be at least 1 (the query itself)",
            ));
        }
        Ok(Self {
            heads,
            seq_len,
            sink,
            window,
        })
    }
    /// Sink tokens.
    pub fn sink(&self) -> usize {
        self.sink
    }
    /// Local window, the query included.
    pub fn window(&self) -> usize {
        self.window
    }
    /// Key tiles of [`REFERENCE_TILE`] a kernel computes for query tile `qb`.
    fn tiles(&self, qb: usize) -> impl Iterator<Item = usize> {
        let t = REFERENCE_TILE;
        let r0 = qb * t;
        let sink_tiles = self.sink.min(r0 + t).div_ceil(t).min(qb + 1);
        let first_local = r0.saturating_sub(self.window - 1) / t;
        (0..=qb).filter(move |&kb| kb < sink_tiles || kb >= first_local)
    }
}

impl MaskFormat for StreamingMask {
    fn heads(&self) -> usize {
        self.heads
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn causal(&self) -> bool {
        true
    }
    fn plan_rows(&self, _head: usize, row_start: usize, row_end: usize, plan: &mut KeyPlan) {
        let sink_end = self.sink.min(row_end);
        let local_start = row_start.saturating_sub(self.window - 1);
        if local_start <= sink_end {
            plan.push_range(0, row_end as u32);
        } else {
            plan.push_range(0, sink_end as u32);
            plan.push_range(local_start as u32, row_end as u32);
        }
    }
    fn keeps(&self, _head: usize, q: usize, k: usize) -> bool {
        k <= q && (k < self.sink || q - k < self.window)
    }
    fn executed_pairs(&self) -> u64 {
        let t = REFERENCE_TILE;
        let l = self.seq_len;
        let per_head: u64 = (0..num_blocks(l, t))
            .map(|qb| {
                let rows = block_len(l, t, qb) as u64;
                rows * self.tiles(qb).map(|kb| block_len(l, t, kb) as u64).sum::<u64>()
            })
            .sum();
        per_head * self.heads as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mask;
    use super::*;

    #[test]
    fn keeps_sink_and_window_only() {
        let m = Mask::Streaming(StreamingMask::new(1, 200, 4, 16).unwrap());
        let d = m.to_dense_bool();
        let row = |q: usize| (0..200).filter(|&k| d[q * 200 + k]).collect::<Vec<_>>();
        let r150 = row(150);
        assert_eq!(r150.len(), 4 + 16);
        assert_eq!(&r150[..4], &[0, 1, 2, 3]);
        assert_eq!(r150[4], 135);
        assert_eq!(*r150.last().unwrap(), 150);
        assert_eq!(row(2), vec![0, 1, 2]);
        let brute: u64 = (0..200usize)
            .map(|q| (0..=q).filter(|&k| k < 4 || q - k < 16).count() as u64)
            .sum();
        assert_eq!(m.kept_pairs(), brute);
    }

    #[test]
    fn executed_tiles_cover_sink_and_window() {
        // 256 tokens = 4 tiles; sink 4 -> tile 0; window 16 -> own tile and, for
        // rows near a tile start, the previous tile.
        let m = StreamingMask::new(1, 256, 4, 16).unwrap();
        // qb0: {0}; qb1: {0,1}; qb2: {0,1,2}; qb3: {0,2,3}
        assert_eq!(m.executed_pairs(), 64 * 64 * (1 + 2 + 3 + 3));
    }

    #[test]
    fn zero_window_is_an_error() {
        assert!(StreamingMask::new(1, 10, 4, 0).is_err());
    }
}
