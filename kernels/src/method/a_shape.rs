//! A-shape (MInference's name for StreamingLLM's pattern): attention sinks plus
//! a local window, the same for every head and input. No estimation.

use super::checks::{fits_sequence, nonzero, require_causal};
use super::params::Params;
use super::{EstimationCost, Method, Selection, SelectionContext};
use crate::error::Result;
use crate::mask::{Mask, StreamingMask};

const NAME: &str = "a-shape";

/// Sink plus local window. MInference's A-shape heads use 128 sinks and 3968
/// local tokens (REFERENCE.md §4); the paper's baseline is 1k + 4k.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AShape {
    sink: usize,
    local: usize,
}

impl AShape {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 2] = ["sink", "local"];

    /// `sink` first tokens (may be 0) and `local` most recent tokens, the query
    /// included (at least 1).
    pub fn new(sink: usize, local: usize) -> Result<Self> {
        nonzero(NAME, "local", local)?;
        Ok(Self { sink, local })
    }

    /// From `sink=..,local=..` (defaults 128 and 3968).
    pub fn from_params(mut p: Params) -> Result<Self> {
        let sink = p.usize_or("sink", 128)?;
        let local = p.usize_or("local", 3968)?;
        p.finish(&Self::PARAMS)?;
        Self::new(sink, local)
    }
}

impl Method for AShape {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        format!("sink={},local={}", self.sink, self.local)
    }
    /// Errors when not causal or when `sink` or `local` exceeds the sequence.
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        require_causal(NAME, ctx.causal)?;
        let w = ctx.workload;
        fits_sequence(NAME, "sink", self.sink, w.seq_len())?;
        fits_sequence(NAME, "local", self.local, w.seq_len())?;
        Ok(Selection {
            mask: Mask::Streaming(StreamingMask::new(w.heads(), w.seq_len(), self.sink, self.local)?),
            estimation: EstimationCost::default(),
        })
    }
}
