//! Energy: per-access energies (a documented table in each preset) times access counts.
//!
//! Default figures are Horowitz's 45 nm numbers ("Computing's energy problem", ISSCC 2014):
//!
//! | access | figure | source line |
//! |---|---|---|
//! | fp16 multiply + fp32 accumulate | 2.0 pJ | fp16 mult 1.1 pJ + fp32 add 0.9 pJ |
//! | buffer read or write, per byte | 2.5 pJ | 32 KB SRAM bank: 20 pJ per 64-bit access |
//! | DRAM, per byte | 160 pJ | DRAM: 1.3-2.6 nJ per 64-bit access (low end) |
//! | pruning engine, per weight examined | 0.4 pJ | one fp16 compare ~ fp16 add |
//! | optimizer update, per parameter | 9.2 pJ | momentum SGD: 2 fp32 mult + 2 fp32 add |
//!
//! An FPGA spends several times these per operation; the FPGA preset keeps the same
//! ASIC-equivalent table so that designs compare on one scale.

use super::config::positive;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Energy per access, picojoules.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnergyTable {
    /// One multiply-accumulate in a PE.
    pub mac_pj: f64,
    /// One byte read from an on-chip buffer.
    pub buffer_read_pj_per_byte: f64,
    /// One byte written to an on-chip buffer.
    pub buffer_write_pj_per_byte: f64,
    /// One byte moved to or from DRAM.
    pub dram_pj_per_byte: f64,
    /// One weight examined by the pruning engine.
    pub prune_pj_per_weight: f64,
    /// One parameter updated by the optimizer unit.
    pub update_pj_per_param: f64,
}

impl EnergyTable {
    /// The table above.
    pub const HOROWITZ_45NM: EnergyTable = EnergyTable {
        mac_pj: 2.0,
        buffer_read_pj_per_byte: 2.5,
        buffer_write_pj_per_byte: 2.5,
        dram_pj_per_byte: 160.0,
        prune_pj_per_weight: 0.4,
        update_pj_per_param: 9.2,
    };

    /// Checks every entry is a positive finite number.
    pub fn validate(&self, src: &str) -> Result<()> {
        for (field, v) in [
            ("energy.mac_pj", self.mac_pj),
            ("energy.buffer_read_pj_per_byte", self.buffer_read_pj_per_byte),
            ("energy.buffer_write_pj_per_byte", self.buffer_write_pj_per_byte),
            ("energy.dram_pj_per_byte", self.dram_pj_per_byte),
            ("energy.prune_pj_per_weight", self.prune_pj_per_weight),
            ("energy.update_pj_per_param", self.update_pj_per_param),
        ] {
            positive(src, field, v, false)?;
        }
        Ok(())
    }

    /// Energy of `counts`, picojoules.
    pub fn energy_pj(&self, counts: &AccessCounts) -> EnergyBreakdown {
        EnergyBreakdown {
            mac_pj: counts.macs as f64 * self.mac_pj,
            buffer_pj: counts.buffer_read_bytes * self.buffer_read_pj_per_byte
                + counts.buffer_write_bytes * self.buffer_write_pj_per_byte,
            dram_pj: counts.dram_bytes * self.dram_pj_per_byte,
            other_pj: counts.pruned_weights as f64 * self.prune_pj_per_weight
                + counts.updated_params as f64 * self.update_pj_per_param,
        }
    }
}

/// What a run touched: the inputs of the energy estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AccessCounts {
    /// Multiply-accumulates performed.
    pub macs: u64,
    /// Bytes read from on-chip buffers (operands into the array, partial sums, DRAM write-back).
    pub buffer_read_bytes: f64,
    /// Bytes written to on-chip buffers (DRAM fills, outputs, partial sums).
    pub buffer_write_bytes: f64,
    /// Bytes moved to or from DRAM.
    pub dram_bytes: f64,
    /// Weights examined by the pruning engine.
    pub pruned_weights: u64,
    /// Parameters updated by the optimizer unit.
    pub updated_params: u64,
}

impl AccessCounts {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &AccessCounts) {
        self.macs += other.macs;
        self.buffer_read_bytes += other.buffer_read_bytes;
        self.buffer_write_bytes += other.buffer_write_bytes;
        self.dram_bytes += other.dram_bytes;
        self.pruned_weights += other.pruned_weights;
        self.updated_params += other.updated_params;
    }

    /// `self` repeated `count` times.
    pub fn scaled(&self, count: u64) -> AccessCounts {
        let c = count as f64;
        AccessCounts {
            macs: self.macs * count,
            buffer_read_bytes: self.buffer_read_bytes * c,
            buffer_write_bytes: self.buffer_write_bytes * c,
            dram_bytes: self.dram_bytes * c,
            pruned_weights: self.pruned_weights * count,
            updated_params: self.updated_params * count,
        }
    }
}

/// Energy split by where it goes, picojoules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EnergyBreakdown {
    /// PE multiply-accumulates.
    pub mac_pj: f64,
    /// On-chip buffer reads and writes.
    pub buffer_pj: f64,
    /// DRAM traffic.
    pub dram_pj: f64,
    /// Pruning engine and optimizer unit.
    pub other_pj: f64,
}

impl EnergyBreakdown {
    /// Total, picojoules.
    pub fn total_pj(&self) -> f64 {
        self.mac_pj + self.buffer_pj + self.dram_pj + self.other_pj
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_is_counts_times_table() {
        let counts = AccessCounts {
            macs: 10,
            buffer_read_bytes: 4.0,
            buffer_write_bytes: 2.0,
            dram_bytes: 1.0,
            pruned_weights: 5,
            updated_params: 1,
        };
        let e = EnergyTable::HOROWITZ_45NM.energy_pj(&counts);
        assert_eq!(e.mac_pj, 20.0);
        assert_eq!(e.buffer_pj, 15.0);
        assert_eq!(e.dram_pj, 160.0);
        assert!((e.other_pj - (2.0 + 9.2)).abs() < 1e-12);
        assert!((e.total_pj() - 206.2).abs() < 1e-9);
    }
}
