//! Accelerator configurations: TOML presets under `simulators/presets/`, loaded with
//! `deny_unknown_fields` and validated with the field name in every error.
//!
//! | table | fields (units in the names) |
//! |---|---|
//! | top level | `name`, `description` |
//! | `[array]` | `rows`, `cols`, `clock_mhz`, `dataflow` (`auto`, `os`, `ws`), `input_bits`, `weight_bits`, `accumulator_bits` |
//! | `[memory]` | `ifmap_kib`, `filter_kib`, `ofmap_kib`, `double_buffered`, `dram_gbps` (may be `inf`) |
//! | `[pruning]` | `lanes`, `pregenerate` |
//! | `[update]` | `lanes`, `master_weight_bits`, `optimizer_state_bits` |
//! | `[schedule]` | `interleave_passes` |
//! | `[energy]` | see [`EnergyTable`] |

use super::compute::{ArrayShape, Dataflow};
use super::energy::EnergyTable;
use crate::error::{Result, SimulatorError};
use crate::preset_file::{parse_toml, preset_text};
use serde::Deserialize;

/// Built-in presets: (name, TOML text).
const BUILT_IN: [(&str, &str); 2] = [
    ("vcu1525", include_str!("../../presets/vcu1525.toml")),
    ("asic128", include_str!("../../presets/asic128.toml")),
];

/// The preset used when none is named: the VCU1525-like FPGA design point.
pub const DEFAULT_PRESET: &str = "vcu1525";

/// How the offline scheduler picks a dataflow for each GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataflowPolicy {
    /// Try both and keep the faster (the array switches between them, as SAT's does).
    Auto,
    /// Always output-stationary.
    Os,
    /// Always weight-stationary.
    Ws,
}

impl DataflowPolicy {
    /// The name as written in TOML.
    pub fn name(self) -> &'static str {
        match self {
            DataflowPolicy::Auto => "auto",
            DataflowPolicy::Os => "os",
            DataflowPolicy::Ws => "ws",
        }
    }

    /// The dataflows the scheduler may choose from.
    pub fn candidates(self) -> &'static [Dataflow] {
        match self {
            DataflowPolicy::Auto => &Dataflow::ALL,
            DataflowPolicy::Os => &[Dataflow::OutputStationary],
            DataflowPolicy::Ws => &[Dataflow::WeightStationary],
        }
    }
}

/// The PE array.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayConfig {
    /// PE rows.
    pub rows: u64,
    /// PE columns.
    pub cols: u64,
    /// Clock, MHz.
    pub clock_mhz: f64,
    /// Dataflow policy.
    pub dataflow: DataflowPolicy,
    /// Width of activations and gradients, bits (16 for fp16).
    pub input_bits: u32,
    /// Width of weights as the array reads them, bits.
    pub weight_bits: u32,
    /// Width of partial sums and weight gradients, bits (32 for fp32).
    pub accumulator_bits: u32,
}

/// On-chip buffers and DRAM.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// Input (A operand) buffer, KiB.
    pub ifmap_kib: u64,
    /// Weight (B operand, with metadata) buffer, KiB.
    pub filter_kib: u64,
    /// Output and partial-sum buffer, KiB.
    pub ofmap_kib: u64,
    /// Whether each buffer holds two tiles, so the next tile loads while this one computes.
    pub double_buffered: bool,
    /// DRAM bandwidth, GB/s (10^9 bytes per second); `inf` for an ideal memory.
    pub dram_gbps: f64,
}

/// The online N:M pruning engine.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruningConfig {
    /// Parallel lanes; each takes `M` cycles to pick the top `N` of a group of `M` weights.
    pub lanes: u64,
    /// Generate next step's sparse weights while the weight update streams (pre-generation),
    /// instead of pruning on the fly before each sparse pass.
    pub pregenerate: bool,
}

/// The weight-update (optimizer) vector unit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfig {
    /// Parameters updated per cycle.
    pub lanes: u64,
    /// Width of the master copy of the weights, bits.
    pub master_weight_bits: u32,
    /// Optimizer state per parameter (momentum), bits; 0 for plain SGD.
    pub optimizer_state_bits: u32,
}

/// The offline scheduler.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Let a layer's backward-data and weight-gradient GEMMs alternate tiles on the array
    /// (each with half the buffers) when that is faster than running them one after the other.
    pub interleave_passes: bool,
}

/// A complete accelerator description.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceleratorConfig {
    /// Short name (the preset's).
    pub name: String,
    /// One line on what the design point stands for.
    #[serde(default)]
    pub description: String,
    /// The PE array.
    pub array: ArrayConfig,
    /// Buffers and DRAM.
    pub memory: MemoryConfig,
    /// The pruning engine.
    pub pruning: PruningConfig,
    /// The optimizer unit.
    pub update: UpdateConfig,
    /// The offline scheduler.
    pub schedule: ScheduleConfig,
    /// Energy per access.
    pub energy: EnergyTable,
}

impl AcceleratorConfig {
    /// Names of the built-in presets.
    pub fn preset_names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    }

    /// Loads a built-in preset by name, or else a TOML file at that path.
    pub fn preset(name_or_path: &str) -> Result<Self> {
        let (text, source) = preset_text(name_or_path, &BUILT_IN)?;
        Self::from_toml_str(&text, &source)
    }

    /// Parses and validates a TOML text; `source_name` labels errors.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self> {
        let config: Self = parse_toml(text, source_name)?;
        config.validate(source_name)?;
        Ok(config)
    }

    /// An ideal-memory configuration for comparing the compute model with SCALE-Sim: an
    /// `rows x cols` array with a fixed dataflow, one-byte words (SCALE-Sim's), buffers that hold
    /// any GEMM and infinite DRAM bandwidth, so every GEMM runs as one tile without stalls.
    pub fn ideal(rows: u64, cols: u64, dataflow: Dataflow) -> Self {
        Self {
            name: format!("ideal-{rows}x{cols}-{dataflow}"),
            description: "SCALE-Sim comparison point: ideal memory".into(),
            array: ArrayConfig {
                rows,
                cols,
                clock_mhz: 1000.0,
                dataflow: match dataflow {
                    Dataflow::OutputStationary => DataflowPolicy::Os,
                    Dataflow::WeightStationary => DataflowPolicy::Ws,
                },
                input_bits: 8,
                weight_bits: 8,
                accumulator_bits: 8,
            },
            memory: MemoryConfig {
                ifmap_kib: 1 << 40,
                filter_kib: 1 << 40,
                ofmap_kib: 1 << 40,
                double_buffered: true,
                dram_gbps: f64::INFINITY,
            },
            pruning: PruningConfig {
                lanes: 32,
                pregenerate: true,
            },
            update: UpdateConfig {
                lanes: cols,
                master_weight_bits: 32,
                optimizer_state_bits: 32,
            },
            schedule: ScheduleConfig {
                interleave_passes: false,
            },
            energy: EnergyTable::HOROWITZ_45NM,
        }
    }

    /// The PE grid.
    pub fn array_shape(&self) -> ArrayShape {
        ArrayShape {
            rows: self.array.rows,
            cols: self.array.cols,
        }
    }

    /// DRAM bytes per clock cycle (infinite for an ideal memory).
    pub fn dram_bytes_per_cycle(&self) -> f64 {
        self.memory.dram_gbps * 1e3 / self.array.clock_mhz
    }

    /// Seconds per cycle.
    pub fn seconds_per_cycle(&self) -> f64 {
        1.0 / (self.array.clock_mhz * 1e6)
    }

    /// A one-line summary of the parameters, for provenance columns.
    pub fn describe(&self) -> String {
        let a = &self.array;
        let m = &self.memory;
        format!(
            "{}: {}x{} PEs @ {} MHz, {}-bit operands, {}-bit accumulators, dataflow {}, buffers ifmap/filter/ofmap {}/{}/{} KiB{}, DRAM {} GB/s, pruning engine {} lanes{}, interleave {}",
            self.name,
            a.rows,
            a.cols,
            a.clock_mhz,
            a.input_bits,
            a.accumulator_bits,
            a.dataflow.name(),
            m.ifmap_kib,
            m.filter_kib,
            m.ofmap_kib,
            if m.double_buffered { " double-buffered" } else { "" },
            m.dram_gbps,
            self.pruning.lanes,
            if self.pruning.pregenerate { " (pre-generated)" } else { " (online)" },
            self.schedule.interleave_passes,
        )
    }

    /// Checks every field's range and that one array-sized tile fits each buffer.
    pub fn validate(&self, src: &str) -> Result<()> {
        let a = &self.array;
        for (field, v) in [("array.rows", a.rows), ("array.cols", a.cols)] {
            if v == 0 || v > 65_536 {
                return Err(SimulatorError::bad_config(
                    src,
                    field,
                    v,
                    "an array needs 1 to 65536 PEs per side",
                ));
            }
        }
        positive(src, "array.clock_mhz", a.clock_mhz, false)?;
        for (field, v) in [
            ("array.input_bits", a.input_bits),
            ("array.weight_bits", a.weight_bits),
            ("array.accumulator_bits", a.accumulator_bits),
            ("update.master_weight_bits", self.update.master_weight_bits),
        ] {
            if v == 0 || v > 64 {
                return Err(SimulatorError::bad_config(
                    src,
                    field,
                    v,
                    "a data width is 1 to 64 bits",
                ));
            }
        }
        if self.update.optimizer_state_bits > 256 {
            return Err(SimulatorError::bad_config(
                src,
                "update.optimizer_state_bits",
                self.update.optimizer_state_bits,
                "at most 256 bits of optimizer state per parameter (0 for plain SGD)",
            ));
        }
        positive(src, "memory.dram_gbps", self.memory.dram_gbps, true)?;
        for (field, v) in [
            ("pruning.lanes", self.pruning.lanes),
            ("update.lanes", self.update.lanes),
        ] {
            if v == 0 {
                return Err(SimulatorError::bad_config(src, field, v, "at least 1 lane"));
            }
        }
        self.energy.validate(src)?;
        self.check_buffers_hold_one_tile()
    }

    /// The smallest tile the array can run is one fold: `rows x rows` of A, `rows x cols` of B
    /// and `rows x cols` partial sums. A configuration whose buffers cannot hold that is rejected.
    fn check_buffers_hold_one_tile(&self) -> Result<()> {
        let (r, c) = (self.array.rows, self.array.cols);
        let copies = if self.memory.double_buffered { 2 } else { 1 };
        let bytes = |elems: u64, bits: u32| (elems * u64::from(bits)).div_ceil(8) * copies;
        let checks = [
            (
                "memory.ifmap_kib",
                self.memory.ifmap_kib,
                bytes(r * r, self.array.input_bits),
                format!("{r}x{r} input tile"),
            ),
            (
                "memory.filter_kib",
                self.memory.filter_kib,
                bytes(r * c, self.array.weight_bits),
                format!("{r}x{c} weight tile"),
            ),
            (
                "memory.ofmap_kib",
                self.memory.ofmap_kib,
                bytes(r * c, self.array.accumulator_bits),
                format!("{r}x{c} partial-sum tile"),
            ),
        ];
        for (buffer, kib, needed, what) in checks {
            let available = kib.saturating_mul(1024);
            if available < needed {
                return Err(SimulatorError::BufferTooSmall {
                    buffer,
                    what,
                    needed_bytes: needed,
                    available_bytes: available,
                    double_buffered: self.memory.double_buffered,
                });
            }
        }
        Ok(())
    }
}

/// Rejects NaN, zero, negative and (unless `allow_inf`) infinite values.
pub(crate) fn positive(src: &str, field: &str, v: f64, allow_inf: bool) -> Result<()> {
    if v.is_nan() || v <= 0.0 || (!allow_inf && v.is_infinite()) {
        let expected = if allow_inf {
            "a positive number (inf allowed)"
        } else {
            "a positive finite number"
        };
        return Err(SimulatorError::bad_config(src, field, v, expected));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_presets_load() {
        for name in AcceleratorConfig::preset_names() {
            let c = AcceleratorConfig::preset(name).unwrap();
            assert_eq!(c.name, name);
            assert!(c.describe().contains("PEs"));
        }
        let fpga = AcceleratorConfig::preset("vcu1525").unwrap();
        assert!((fpga.dram_bytes_per_cycle() - fpga.memory.dram_gbps * 1e3 / fpga.array.clock_mhz).abs() < 1e-9);
    }

    fn edited(from: &str, to: &str) -> Result<AcceleratorConfig> {
        let text = include_str!("../../presets/vcu1525.toml");
        assert!(text.contains(from), "preset lacks `{from}`");
        AcceleratorConfig::from_toml_str(&text.replacen(from, to, 1), "test.toml")
    }

    #[test]
    fn zero_sized_array_names_the_field() {
        let e = edited("rows = 64", "rows = 0").unwrap_err().to_string();
        assert!(e.contains("array.rows") && e.contains("= 0"), "{e}");
    }

    #[test]
    fn unknown_and_missing_fields_are_parse_errors() {
        let e = edited("rows = 64", "rows = 64\nrowz = 3").unwrap_err().to_string();
        assert!(e.contains("unknown field") && e.contains("rowz"), "{e}");
        let e = edited("rows = 64", "").unwrap_err().to_string();
        assert!(e.contains("missing field") && e.contains("rows"), "{e}");
    }

    #[test]
    fn buffer_too_small_for_one_tile_is_rejected() {
        let e = edited("filter_kib = 2048", "filter_kib = 1").unwrap_err().to_string();
        assert!(e.contains("memory.filter_kib") && e.contains("weight tile"), "{e}");
    }

    #[test]
    fn bad_numbers_are_rejected() {
        assert!(edited("clock_mhz = 200.0", "clock_mhz = -1.0").is_err());
        assert!(edited("dram_gbps = 64.0", "dram_gbps = nan").is_err());
        assert!(edited("dram_gbps = 64.0", "dram_gbps = inf").is_ok());
        assert!(edited("input_bits = 16", "input_bits = 0").is_err());
        assert!(edited("lanes = 32", "lanes = 0").is_err());
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let e = AcceleratorConfig::preset("no-such-preset").unwrap_err().to_string();
        assert!(e.contains("vcu1525") && e.contains("asic128"), "{e}");
    }
}
