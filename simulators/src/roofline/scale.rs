//! What-if scaling of a preset: `bandwidth=2` doubles the HBM bandwidth, `flops=2` every compute
//! ceiling, and so on, applied to the datasheet and the measured values alike.

use super::hardware::GpuPreset;
use crate::error::{Result, SimulatorError};

/// What a scale factor multiplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleTarget {
    /// HBM bandwidth (datasheet and measured).
    Bandwidth,
    /// Tensor, vector and SFU throughput together.
    Flops,
    /// Tensor-core throughput only.
    Tensor,
    /// fp32 vector throughput only.
    Vector,
    /// Special-function (exp) throughput only.
    Sfu,
    /// L2 bandwidth.
    L2Bandwidth,
    /// L2 size.
    L2Size,
    /// Number of SMs (rounded), with every throughput scaled the same way.
    Sms,
    /// Launch overhead.
    Launch,
}

impl ScaleTarget {
    /// Every target with its flag name.
    pub const ALL: [(&'static str, ScaleTarget); 9] = [
        ("bandwidth", ScaleTarget::Bandwidth),
        ("flops", ScaleTarget::Flops),
        ("tensor", ScaleTarget::Tensor),
        ("vector", ScaleTarget::Vector),
        ("sfu", ScaleTarget::Sfu),
        ("l2_bandwidth", ScaleTarget::L2Bandwidth),
        ("l2", ScaleTarget::L2Size),
        ("sms", ScaleTarget::Sms),
        ("launch", ScaleTarget::Launch),
    ];

    /// The flag name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map_or("?", |(n, _)| n)
    }
}

/// One `--scale key=factor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// What to scale.
    pub target: ScaleTarget,
    /// The multiplier, positive and finite.
    pub factor: f64,
}

impl Scale {
    /// Parses `key=factor`, e.g. `bandwidth=2`.
    pub fn parse(text: &str) -> Result<Self> {
        let known = || ScaleTarget::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let bad = |expected: String| SimulatorError::bad_workload("--scale", text, expected);
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| bad(format!("key=factor with key one of {}", known())))?;
        let target = ScaleTarget::ALL
            .iter()
            .find(|(n, _)| *n == key.trim())
            .map(|(_, t)| *t)
            .ok_or_else(|| bad(format!("a key among {}", known())))?;
        let factor: f64 = value
            .trim()
            .parse()
            .map_err(|_| bad("a positive number after `=`".into()))?;
        if !(factor.is_finite() && factor > 0.0) {
            return Err(bad("a positive finite factor".into()));
        }
        Ok(Self { target, factor })
    }

    /// `key=factor` as given.
    pub fn label(&self) -> String {
        format!("{}={}", self.target.name(), self.factor)
    }

    /// Applies the factor to `preset` (datasheet and measured values).
    pub fn apply(&self, preset: &mut GpuPreset) {
        let f = self.factor;
        let measured = preset.measured.as_mut();
        match self.target {
            ScaleTarget::Bandwidth => {
                preset.hbm_bandwidth *= f;
                if let Some(m) = measured {
                    m.hbm_bandwidth *= f;
                }
            }
            ScaleTarget::Flops => {
                preset.tensor_flops *= f;
                preset.vector_flops *= f;
                preset.sfu_ops *= f;
                if let Some(m) = measured {
                    m.tensor_flops *= f;
                }
            }
            ScaleTarget::Tensor => {
                preset.tensor_flops *= f;
                if let Some(m) = measured {
                    m.tensor_flops *= f;
                }
            }
            ScaleTarget::Vector => preset.vector_flops *= f,
            ScaleTarget::Sfu => preset.sfu_ops *= f,
            ScaleTarget::L2Bandwidth => preset.l2_bandwidth *= f,
            ScaleTarget::L2Size => preset.l2_bytes *= f,
            ScaleTarget::Sms => {
                let sms = ((preset.sms as f64 * f).round() as u64).max(1);
                let ratio = sms as f64 / preset.sms as f64;
                preset.sms = sms;
                Scale {
                    target: ScaleTarget::Flops,
                    factor: ratio,
                }
                .apply(preset);
                preset.l2_bandwidth *= ratio;
            }
            ScaleTarget::Launch => preset.launch_overhead_s *= f,
        }
    }
}

/// Applies every scale in order and returns the label (`none` when empty), e.g. `bandwidth=2,flops=2`.
pub fn apply_scales(preset: &mut GpuPreset, scales: &[Scale]) -> String {
    for s in scales {
        s.apply(preset);
    }
    if scales.is_empty() {
        "none".into()
    } else {
        scales.iter().map(Scale::label).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_applies() {
        let mut p = GpuPreset::load("h100").unwrap();
        let label = apply_scales(
            &mut p,
            &[Scale::parse("bandwidth=2").unwrap(), Scale::parse("flops=0.5").unwrap()],
        );
        assert_eq!(label, "bandwidth=2,flops=0.5");
        assert_eq!(p.hbm_bandwidth, 6.7e12);
        assert_eq!(p.tensor_flops, 494.5e12);
        assert_eq!(p.sfu_ops, 2.09e12);
        let mut q = GpuPreset::load("a100").unwrap();
        Scale::parse("sms=2").unwrap().apply(&mut q);
        assert_eq!(q.sms, 216);
        assert_eq!(q.tensor_flops, 624e12);
    }

    #[test]
    fn rejects_bad_input_with_the_text() {
        for bad in ["bandwidth", "speed=2", "flops=0", "flops=-1", "flops=x", "flops=inf"] {
            let e = Scale::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
