//! The modeled effects that keep an N:M training step below its MAC-count bound, each of which
//! can be switched off to measure what it costs (the ablation).

use serde::Serialize;
use std::fmt;

/// One effect of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    /// Pipeline fill and drain per fold, and PEs left unmapped by edge folds and by reductions
    /// (or output widths) shorter than the array; off: `ceil(MACs / PEs)` cycles per tile.
    ArrayUnderuse,
    /// Index metadata of N:M weights in DRAM and buffers; off: zero bits.
    Metadata,
    /// Waiting for DRAM (bandwidth and buffer capacity); off: infinite bandwidth.
    DramStalls,
    /// Exposed latency of the online pruning engine; off: pruning is free.
    PruneLatency,
    /// The optimizer's weight update (same work dense and sparse); off: free.
    WeightUpdate,
}

impl Effect {
    /// Every effect, in report order.
    pub const ALL: [Effect; 5] = [
        Effect::ArrayUnderuse,
        Effect::Metadata,
        Effect::DramStalls,
        Effect::PruneLatency,
        Effect::WeightUpdate,
    ];

    /// Short name for tables and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Effect::ArrayUnderuse => "array_underuse",
            Effect::Metadata => "metadata",
            Effect::DramStalls => "dram_stalls",
            Effect::PruneLatency => "prune_latency",
            Effect::WeightUpdate => "weight_update",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which effects are modeled (all, normally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Effects {
    /// See [`Effect::ArrayUnderuse`].
    pub array_underuse: bool,
    /// See [`Effect::Metadata`].
    pub metadata: bool,
    /// See [`Effect::DramStalls`].
    pub dram_stalls: bool,
    /// See [`Effect::PruneLatency`].
    pub prune_latency: bool,
    /// See [`Effect::WeightUpdate`].
    pub weight_update: bool,
}

impl Default for Effects {
    fn default() -> Self {
        Self::ALL_ON
    }
}

impl Effects {
    /// The full model.
    pub const ALL_ON: Effects = Effects {
        array_underuse: true,
        metadata: true,
        dram_stalls: true,
        prune_latency: true,
        weight_update: true,
    };

    /// The MAC-count bound: nothing but multiply-accumulates.
    pub const ALL_OFF: Effects = Effects {
        array_underuse: false,
        metadata: false,
        dram_stalls: false,
        prune_latency: false,
        weight_update: false,
    };

    /// These effects with `effect` switched off.
    pub fn without(mut self, effect: Effect) -> Effects {
        match effect {
            Effect::ArrayUnderuse => self.array_underuse = false,
            Effect::Metadata => self.metadata = false,
            Effect::DramStalls => self.dram_stalls = false,
            Effect::PruneLatency => self.prune_latency = false,
            Effect::WeightUpdate => self.weight_update = false,
        }
        self
    }

    /// Names of the effects switched off, `+`-joined (`none` when all are on).
    pub fn off_label(&self) -> String {
        let off: Vec<&str> = Effect::ALL
            .iter()
            .filter(|e| !self.has(**e))
            .map(|e| e.name())
            .collect();
        if off.is_empty() {
            "none".into()
        } else if off.len() == Effect::ALL.len() {
            "all".into()
        } else {
            off.join("+")
        }
    }

    /// Whether `effect` is modeled.
    pub fn has(&self, effect: Effect) -> bool {
        match effect {
            Effect::ArrayUnderuse => self.array_underuse,
            Effect::Metadata => self.metadata,
            Effect::DramStalls => self.dram_stalls,
            Effect::PruneLatency => self.prune_latency,
            Effect::WeightUpdate => self.weight_update,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_what_is_off() {
        assert_eq!(Effects::ALL_ON.off_label(), "none");
        assert_eq!(Effects::ALL_OFF.off_label(), "all");
        assert_eq!(Effects::ALL_ON.without(Effect::Metadata).off_label(), "metadata");
        let two = Effects::ALL_ON
            .without(Effect::DramStalls)
            .without(Effect::WeightUpdate);
        assert_eq!(two.off_label(), "dram_stalls+weight_update");
    }
}
