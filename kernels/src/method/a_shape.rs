//! A-shape (MInference's name for StreamingLLM's pattern): attention sinks plus
//! a local window, the same for every head and input. No estimation.

use super::checks::{nonzero, require_causal, Budget};
use super::params::Params;
use super::{EstimationCost, Method, Selection, SelectionContext};
use crate::error::Result;
use crate::mask::{Mask, StreamingMask};

const NAME: &str = "a-shape";

/// Sink plus local window. MInference's A-shape heads use 128 sinks and 3968
/// local tokens (REFERENCE.md §4); the paper's baseline is 1k + 4k. Budgets
/// given by the user must fit the sequence; the defaults are capped to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AShape {
    sink: Budget,
    local: Budget,
}

impl AShape {
    /// Keyword parameters this method reads.
    pub const PARAMS: [&'static str; 2] = ["sink", "local"];

    /// `sink` first tokens (may be 0) and `local` most recent tokens, the query
    /// included (at least 1).
    pub fn new(sink: usize, local: usize) -> Result<Self> {
        Self::with_budgets(Budget::given(sink), Budget::given(local))
    }

    fn with_budgets(sink: Budget, local: Budget) -> Result<Self> {
        nonzero(NAME, "local", local.value)?;
        Ok(Self { sink, local })
    }

    /// From `sink=..,local=..` (defaults 128 and 3968).
    pub fn from_params(mut p: Params) -> Result<Self> {
        let sink = Budget::read(&mut p, "sink", 128)?;
        let local = Budget::read(&mut p, "local", 3968)?;
        p.finish(&Self::PARAMS)?;
        Self::with_budgets(sink, local)
    }

    /// `(sink, local)` used on `seq_len` tokens (defaults capped to the sequence; a
    /// given budget above it is an error). The GPU bench builds its streaming mask from it.
    pub fn budgets_on(&self, seq_len: usize) -> Result<(usize, usize)> {
        Ok((
            self.sink.tokens(NAME, "sink", seq_len)?,
            self.local.tokens(NAME, "local", seq_len)?,
        ))
    }
}

impl Method for AShape {
    fn name(&self) -> &'static str {
        NAME
    }
    fn params(&self) -> String {
        format!("sink={},local={}", self.sink.value, self.local.value)
    }
    fn effective_params(&self, seq_len: usize) -> String {
        format!("sink={},local={}", self.sink.shown(seq_len), self.local.shown(seq_len))
    }
    /// Errors when not causal or when a given `sink` or `local` exceeds the sequence.
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        require_causal(NAME, ctx.causal)?;
        let w = ctx.workload;
        let sink = self.sink.tokens(NAME, "sink", w.seq_len())?;
        let local = self.local.tokens(NAME, "local", w.seq_len())?;
        Ok(Selection {
            mask: Mask::Streaming(StreamingMask::new(w.heads(), w.seq_len(), sink, local)?),
            estimation: EstimationCost::default(),
        })
    }
}
