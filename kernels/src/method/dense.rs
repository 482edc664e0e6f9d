//! Dense attention, the baseline every table row is measured against.

use super::{EstimationCost, Method, Selection, SelectionContext};
use crate::error::Result;
use crate::mask::{DenseMask, Mask};

/// Full (causal) attention; no estimation.
#[derive(Debug, Clone, Default)]
pub struct Dense;

impl Method for Dense {
    fn name(&self) -> &'static str {
        "dense"
    }
    fn params(&self) -> String {
        String::new()
    }
    fn select(&self, ctx: &SelectionContext<'_>) -> Result<Selection> {
        let w = ctx.workload;
        Ok(Selection {
            mask: Mask::Dense(DenseMask {
                heads: w.heads(),
                seq_len: w.seq_len(),
                causal: ctx.causal,
            }),
            estimation: EstimationCost::default(),
        })
    }
}
