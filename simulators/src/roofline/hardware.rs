//! GPU hardware presets: TOML under `simulators/presets/` (`a100`, `h100`, `h200`, embedded in the
//! binary) or a user's file with the same fields, loaded with `deny_unknown_fields` and validated
//! with the file and the field name in every error.
//!
//! | field | unit | meaning |
//! |---|---|---|
//! | `tensor_flops` | FLOP/s | bf16 dense tensor-core peak (never the 2:4-sparse figure) |
//! | `vector_flops` | FLOP/s | fp32 non-tensor peak |
//! | `sfu_ops` | ops/s | special-function (exp) throughput |
//! | `hbm_bandwidth`, `l2_bandwidth` | bytes/s | device memory and L2 |
//! | `l2_bytes`, `smem_per_sm` | bytes | L2 size, shared memory per SM |
//! | `sms` | count | streaming multiprocessors |
//! | `launch_overhead_s` | s | per kernel launch |
//! | `[kernels.NAME]` | fraction | achieved share of the tensor peak of a kernel implementation; optional `block_overhead_tiles` (and `causal_`) in key tiles per thread block |
//! | `[measured]` | as above | ceilings measured by `sparselab calibrate` (matmul, copy), with date, device, driver and `[measured.kernels.NAME]` |

use crate::error::{Result, SimulatorError};
use crate::preset_file::{parse_toml, preset_text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Built-in presets: (name, TOML text).
const BUILT_IN: [(&str, &str); 3] = [
    ("a100", include_str!("../../presets/a100.toml")),
    ("h100", include_str!("../../presets/h100.toml")),
    ("h200", include_str!("../../presets/h200.toml")),
];

/// Achieved fraction of the ceilings of one kernel implementation (a property of the code, not the card).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelEfficiency {
    /// Ideal compute time over achieved time, non-causal (0, 1].
    pub tensor_efficiency: f64,
    /// The same for causal attention; defaults to `tensor_efficiency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causal_tensor_efficiency: Option<f64>,
    /// Achieved fraction of the HBM bandwidth (default [`DEFAULT_MEMORY_EFFICIENCY`], or 1 against a measured copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_efficiency: Option<f64>,
    /// Fixed cost of one thread block (Q tile load, epilogue: normalisation, O and LSE store,
    /// pipeline fill), non-causal, in units of one key tile's time (64 keys for sparselab's
    /// kernels) at this efficiency; `sparselab calibrate` solves it from a short and a long dense
    /// run. Absent: the kernel model's constant ([`super::KernelSpec::block_overhead_tiles`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_overhead_tiles: Option<f64>,
    /// The same for causal attention; defaults to `block_overhead_tiles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causal_block_overhead_tiles: Option<f64>,
}

/// Ceilings measured on a real card by `sparselab calibrate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// Sustained bf16 matmul rate (cuBLAS, 8192^3), FLOP/s.
    pub tensor_flops: f64,
    /// Device-to-device copy rate (read + write bytes), bytes/s.
    pub hbm_bandwidth: f64,
    /// UTC date of the measurement.
    pub date: String,
    /// GPU name as the driver reports it.
    pub device: String,
    /// Driver and CUDA versions.
    pub driver: String,
    /// Kernel efficiencies relative to the measured ceilings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kernels: BTreeMap<String, KernelEfficiency>,
}

/// A GPU as the roofline sees it (datasheet values plus optional measurements).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuPreset {
    /// Short name, e.g. `h100`.
    pub name: String,
    /// One line on what the numbers stand for.
    #[serde(default)]
    pub description: String,
    /// bf16 dense tensor-core peak, FLOP/s.
    pub tensor_flops: f64,
    /// fp32 non-tensor peak, FLOP/s.
    pub vector_flops: f64,
    /// Special-function (exp) throughput, ops/s.
    pub sfu_ops: f64,
    /// HBM bandwidth, bytes/s.
    pub hbm_bandwidth: f64,
    /// L2 size, bytes.
    pub l2_bytes: f64,
    /// L2 bandwidth, bytes/s.
    pub l2_bandwidth: f64,
    /// Streaming multiprocessors.
    pub sms: u64,
    /// Shared memory per SM, bytes.
    pub smem_per_sm: u64,
    /// Time of one kernel launch, seconds.
    pub launch_overhead_s: f64,
    /// Kernel efficiencies relative to the datasheet ceilings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kernels: BTreeMap<String, KernelEfficiency>,
    /// Measured ceilings, when calibrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
}

/// The throughput limits one prediction uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceilings {
    /// Tensor FLOP/s.
    pub tensor_flops: f64,
    /// fp32 vector FLOP/s.
    pub vector_flops: f64,
    /// exp/s.
    pub sfu_ops: f64,
    /// HBM bytes/s.
    pub hbm_bandwidth: f64,
    /// L2 bytes/s.
    pub l2_bandwidth: f64,
}

/// Fraction of the datasheet HBM bandwidth a streaming kernel reaches when nothing was measured:
/// a device-to-device copy on our H100 moved 3.0 of 3.35 TB/s (REFERENCE.md §1).
pub const DEFAULT_MEMORY_EFFICIENCY: f64 = 0.9;

/// Tensor efficiency of a kernel the preset does not list: FlashAttention-2-class, 352 of 989
/// TFLOP/s on our H100 (REFERENCE.md §1).
pub const DEFAULT_TENSOR_EFFICIENCY: f64 = 0.36;

/// Largest per-block overhead a preset may give, in key tiles: far above any real kernel (ours
/// measure a few tiles), low enough to catch a value in the wrong unit (seconds, microseconds).
pub const MAX_BLOCK_OVERHEAD_TILES: f64 = 1000.0;

/// Where a kernel's efficiency came from, for tables.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedEfficiency {
    /// Fraction of the compute ceiling.
    pub tensor: f64,
    /// Fraction of the memory ceiling.
    pub memory: f64,
    /// `measured`, `preset` or `default`.
    pub source: &'static str,
    /// Per-block overhead in key tiles from `[measured.kernels.NAME]` (else `[kernels.NAME]`);
    /// `None`: use the kernel model's constant.
    pub block_overhead_tiles: Option<f64>,
}

impl GpuPreset {
    /// Names of the built-in presets.
    pub fn preset_names() -> Vec<&'static str> {
        BUILT_IN.iter().map(|(n, _)| *n).collect()
    }

    /// Loads a built-in preset by name, or else a TOML file at that path.
    pub fn load(name_or_path: &str) -> Result<Self> {
        let (text, source) = preset_text(name_or_path, &BUILT_IN)?;
        Self::from_toml_str(&text, &source)
    }

    /// Parses and validates TOML text; `source_name` (a file or preset name) labels errors.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self> {
        let preset: Self = parse_toml(text, source_name)?;
        preset.validate(source_name)?;
        Ok(preset)
    }

    /// The preset as TOML (what `sparselab calibrate` writes).
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| SimulatorError::ParseConfig {
            source_name: self.name.clone(),
            message: format!("cannot serialize: {e}"),
        })
    }

    /// Checks that every rate and size is positive and finite and every efficiency in (0, 1].
    pub fn validate(&self, src: &str) -> Result<()> {
        let rates = [
            ("tensor_flops", self.tensor_flops),
            ("vector_flops", self.vector_flops),
            ("sfu_ops", self.sfu_ops),
            ("hbm_bandwidth", self.hbm_bandwidth),
            ("l2_bytes", self.l2_bytes),
            ("l2_bandwidth", self.l2_bandwidth),
        ];
        for (field, v) in rates {
            positive(src, field, v)?;
        }
        if self.launch_overhead_s.is_nan() || self.launch_overhead_s < 0.0 || self.launch_overhead_s > 1.0 {
            return Err(SimulatorError::bad_config(
                src,
                "launch_overhead_s",
                self.launch_overhead_s,
                "seconds per launch, between 0 and 1 (e.g. 4e-6)",
            ));
        }
        for (field, v) in [("sms", self.sms), ("smem_per_sm", self.smem_per_sm)] {
            if v == 0 {
                return Err(SimulatorError::bad_config(src, field, v, "a positive integer"));
            }
        }
        for (name, k) in &self.kernels {
            k.validate(src, &format!("kernels.{name}"))?;
        }
        if let Some(m) = &self.measured {
            positive(src, "measured.tensor_flops", m.tensor_flops)?;
            positive(src, "measured.hbm_bandwidth", m.hbm_bandwidth)?;
            for (name, k) in &m.kernels {
                k.validate(src, &format!("measured.kernels.{name}"))?;
            }
        }
        Ok(())
    }

    /// The datasheet ceilings (the `roofline_ms` of every row).
    pub fn datasheet(&self) -> Ceilings {
        Ceilings {
            tensor_flops: self.tensor_flops,
            vector_flops: self.vector_flops,
            sfu_ops: self.sfu_ops,
            hbm_bandwidth: self.hbm_bandwidth,
            l2_bandwidth: self.l2_bandwidth,
        }
    }

    /// The ceilings a prediction starts from: measured matmul and copy rates when calibrated,
    /// else the datasheet. Vector, SFU and L2 rates are never measured and stay the datasheet's.
    pub fn sustained(&self) -> Ceilings {
        match &self.measured {
            Some(m) => Ceilings {
                tensor_flops: m.tensor_flops,
                hbm_bandwidth: m.hbm_bandwidth,
                ..self.datasheet()
            },
            None => self.datasheet(),
        }
    }

    /// Efficiency of kernel `name` (e.g. `fa2`): from `[measured.kernels.NAME]` when calibrated,
    /// else `[kernels.NAME]` (relative to the datasheet), else the documented defaults. The
    /// per-block overhead comes from the first of `[measured.kernels.NAME]` and `[kernels.NAME]`
    /// that gives one (older calibrated files have none: then `None`, the model's constant).
    pub fn efficiency(&self, name: &str, causal: bool) -> ResolvedEfficiency {
        let pick = |k: &KernelEfficiency| {
            if causal {
                k.causal_tensor_efficiency.unwrap_or(k.tensor_efficiency)
            } else {
                k.tensor_efficiency
            }
        };
        let measured_kernel = self.measured.as_ref().and_then(|m| m.kernels.get(name));
        let block_overhead_tiles = measured_kernel
            .and_then(|k| k.block_overhead(causal))
            .or_else(|| self.kernels.get(name).and_then(|k| k.block_overhead(causal)));
        if let Some(k) = measured_kernel {
            return ResolvedEfficiency {
                tensor: pick(k),
                memory: k.memory_efficiency.unwrap_or(1.0),
                source: "measured",
                block_overhead_tiles,
            };
        }
        // Against a measured copy rate the memory ceiling is already sustained.
        let memory_default = if self.measured.is_some() {
            1.0
        } else {
            DEFAULT_MEMORY_EFFICIENCY
        };
        match self.kernels.get(name) {
            Some(k) => {
                // Preset efficiencies are relative to the datasheet; rescale when the ceiling is measured.
                let rescale = self
                    .measured
                    .as_ref()
                    .map_or(1.0, |m| self.tensor_flops / m.tensor_flops);
                ResolvedEfficiency {
                    tensor: (pick(k) * rescale).min(1.0),
                    memory: k.memory_efficiency.unwrap_or(memory_default),
                    source: "preset",
                    block_overhead_tiles,
                }
            }
            None => ResolvedEfficiency {
                tensor: DEFAULT_TENSOR_EFFICIENCY,
                memory: memory_default,
                source: "default",
                block_overhead_tiles,
            },
        }
    }

    /// A one-line summary for provenance columns.
    pub fn describe(&self) -> String {
        let measured = match &self.measured {
            Some(m) => format!(
                "; measured {:.0} TFLOP/s, {:.2} TB/s on {} ({})",
                m.tensor_flops / 1e12,
                m.hbm_bandwidth / 1e12,
                m.device,
                m.date
            ),
            None => String::new(),
        };
        format!(
            "{}: {:.0} TFLOP/s bf16, {:.1} TFLOP/s fp32, {:.2} Texp/s, HBM {:.2} TB/s, L2 {:.0} MB at {:.1} TB/s, {} SMs{}",
            self.name,
            self.tensor_flops / 1e12,
            self.vector_flops / 1e12,
            self.sfu_ops / 1e12,
            self.hbm_bandwidth / 1e12,
            self.l2_bytes / 1e6,
            self.l2_bandwidth / 1e12,
            self.sms,
            measured
        )
    }
}

impl KernelEfficiency {
    /// The per-block overhead for `causal` (the causal field falls back to the non-causal one).
    pub fn block_overhead(&self, causal: bool) -> Option<f64> {
        if causal {
            self.causal_block_overhead_tiles.or(self.block_overhead_tiles)
        } else {
            self.block_overhead_tiles
        }
    }

    fn validate(&self, src: &str, table: &str) -> Result<()> {
        let fields = [
            ("tensor_efficiency", Some(self.tensor_efficiency)),
            ("causal_tensor_efficiency", self.causal_tensor_efficiency),
            ("memory_efficiency", self.memory_efficiency),
        ];
        for (field, v) in fields {
            if let Some(v) = v {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(SimulatorError::bad_config(
                        src,
                        &format!("{table}.{field}"),
                        v,
                        "a fraction in (0, 1]",
                    ));
                }
            }
        }
        let overheads = [
            ("block_overhead_tiles", self.block_overhead_tiles),
            ("causal_block_overhead_tiles", self.causal_block_overhead_tiles),
        ];
        for (field, v) in overheads {
            if let Some(v) = v {
                if !(0.0..=MAX_BLOCK_OVERHEAD_TILES).contains(&v) {
                    return Err(SimulatorError::bad_config(
                        src,
                        &format!("{table}.{field}"),
                        v,
                        format!("key tiles per thread block, 0 to {MAX_BLOCK_OVERHEAD_TILES}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Rejects NaN, zero, negative and infinite values.
fn positive(src: &str, field: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(SimulatorError::bad_config(src, field, v, "a positive finite number"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense bf16 peaks from REFERENCE.md §3; the 2:4-sparse figures are twice these.
    const DENSE_PEAKS: [(&str, f64); 3] = [("a100", 312e12), ("h100", 989e12), ("h200", 989e12)];

    #[test]
    fn shipped_presets_carry_the_dense_peak_never_the_sparse_one() {
        for (name, peak) in DENSE_PEAKS {
            let p = GpuPreset::load(name).unwrap();
            assert_eq!(p.name, name);
            assert_eq!(p.tensor_flops, peak, "{name}: tensor_flops must be the dense figure");
            assert!(p.measured.is_none(), "{name}: shipped presets are datasheet-only");
            assert!(p.describe().contains("TFLOP/s"));
        }
        assert_eq!(GpuPreset::preset_names().len(), DENSE_PEAKS.len());
    }

    fn edited(from: &str, to: &str) -> Result<GpuPreset> {
        let text = include_str!("../../presets/h100.toml");
        assert!(text.contains(from), "preset lacks `{from}`");
        GpuPreset::from_toml_str(&text.replacen(from, to, 1), "my.toml")
    }

    #[test]
    fn missing_field_names_the_field_and_the_file() {
        let e = edited("sms = 132", "").unwrap_err().to_string();
        assert!(e.contains("my.toml") && e.contains("sms"), "{e}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let e = edited("sms = 132", "sms = 132\nhbm_gbps = 3").unwrap_err().to_string();
        assert!(e.contains("my.toml") && e.contains("hbm_gbps"), "{e}");
    }

    #[test]
    fn bad_values_name_the_field_and_value() {
        let e = edited("hbm_bandwidth = 3.35e12", "hbm_bandwidth = -1.0")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("my.toml") && e.contains("hbm_bandwidth") && e.contains("-1"),
            "{e}"
        );
        let e = edited("tensor_efficiency = 0.356", "tensor_efficiency = 1.5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("kernels.fa2.tensor_efficiency") && e.contains("1.5"), "{e}");
        let e = edited("sms = 132", "sms = \"many\"").unwrap_err().to_string();
        assert!(e.contains("sms"), "{e}");
        let e = GpuPreset::load("/nonexistent/gpu.toml").unwrap_err().to_string();
        assert!(e.contains("h100") && e.contains("/nonexistent/gpu.toml"), "{e}");
    }

    #[test]
    fn calibrated_files_without_an_overhead_still_load() {
        // Written by `sparselab calibrate` before block_overhead_tiles existed.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../results/roofline-h100-2026-11-23/h100-calibrated.toml"
        );
        let p = GpuPreset::load(path).unwrap();
        let e = p.efficiency("sparselab", true);
        assert_eq!((e.source, e.block_overhead_tiles), ("measured", None));
        // An overhead in the wrong unit (microseconds) or negative is refused with the field named.
        for bad in ["-1.5", "4000.5"] {
            let e = edited(
                "causal_tensor_efficiency = 0.300",
                &format!("causal_tensor_efficiency = 0.300\ncausal_block_overhead_tiles = {bad}"),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("kernels.sparselab.causal_block_overhead_tiles") && e.contains(bad),
                "{e}"
            );
        }
        let ok = edited(
            "causal_tensor_efficiency = 0.300",
            "causal_tensor_efficiency = 0.300\nblock_overhead_tiles = 6.0",
        )
        .unwrap();
        // From the preset's [kernels.NAME] when nothing is measured; causal falls back to it.
        assert_eq!(ok.efficiency("sparselab", true).block_overhead_tiles, Some(6.0));
    }

    #[test]
    fn measured_section_round_trips_and_takes_precedence() {
        let mut p = GpuPreset::load("h100").unwrap();
        let mut kernels = BTreeMap::new();
        kernels.insert(
            "sparselab".to_string(),
            KernelEfficiency {
                tensor_efficiency: 0.4,
                causal_tensor_efficiency: Some(0.38),
                memory_efficiency: None,
                block_overhead_tiles: None,
                causal_block_overhead_tiles: Some(7.5),
            },
        );
        p.measured = Some(Measured {
            tensor_flops: 767e12,
            hbm_bandwidth: 3.0e12,
            date: "2026-11-23".into(),
            device: "NVIDIA H100 80GB HBM3".into(),
            driver: "580".into(),
            kernels,
        });
        let text = p.to_toml_string().unwrap();
        let back = GpuPreset::from_toml_str(&text, "calibrated.toml").unwrap();
        assert_eq!(back, p);
        assert_eq!(back.sustained().tensor_flops, 767e12);
        assert_eq!(back.datasheet().tensor_flops, 989e12);
        let e = back.efficiency("sparselab", true);
        assert_eq!((e.tensor, e.memory, e.source), (0.38, 1.0, "measured"));
        assert_eq!(e.block_overhead_tiles, Some(7.5));
        // Non-causal has no measured overhead (nor does the preset): the model's constant.
        assert_eq!(back.efficiency("sparselab", false).block_overhead_tiles, None);
        // A preset efficiency is rescaled to the measured ceiling: same achieved FLOP/s.
        let fa2 = back.efficiency("fa2", false);
        assert!((fa2.tensor * 767e12 - 0.356 * 989e12).abs() < 1e9, "{fa2:?}");
        assert_eq!(back.efficiency("unknown", false).source, "default");
    }
}
