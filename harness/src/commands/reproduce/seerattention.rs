//! SeerAttention (Gao et al., arXiv 2410.13276): its block-sparse kernel is 5.67x faster than
//! FlashAttention-2 at 32k tokens and 90% sparsity. Ours: predicted by the roofline (H100
//! preset, FA2-class kernels for both), and measured when `--measured` gives `sparselab bench`
//! rows (our block-sparse kernel at density 0.1 against our dense kernel and, when the peers' CSV
//! is given too, against SDPA's FlashAttention-2 backend).

use anyhow::Result;
use sparselab_simulators::roofline::GpuPreset;

use super::measured::{fastest, Timing};
use super::papers::figure;
use super::predicted::{llama3_8b, speedup};
use super::row::{Origin, ReproduceRow};
use crate::commands::roofline::MODEL;
use crate::provenance::Provenance;

const PAPER: &str = "seerattention";
const SEQ: u64 = 32_768;
const DENSITY: f64 = 0.1;

/// Predicted (and, with timings, measured) speedups beside the paper's 5.67x.
pub fn rows(hardware: Option<&str>, timings: &[Timing]) -> Result<Vec<ReproduceRow>> {
    let fig = figure(
        PAPER,
        "block-sparse kernel speedup over FlashAttention-2",
        "L=32768 sparsity=0.9",
    )?;
    let preset = GpuPreset::load(hardware.unwrap_or("h100"))?;
    let prov = Provenance {
        device: format!("model {MODEL} on {}", preset.describe()),
        driver: "none".into(),
        cuda: "none".into(),
        ..Provenance::cpu()
    };
    // Top-k of 64-token key blocks with k = 10% of the causal blocks per row on average.
    let blocks = SEQ.div_ceil(64);
    let k = ((DENSITY * (blocks + 1) as f64) / 2.0).round() as u64;
    let spec = format!("block-topk:k={k},block=64");
    let ours = speedup(&preset, &spec, llama3_8b(SEQ), Some("fa2"), "fa2")?;
    let note = format!(
        "{spec} (density about 0.1 of the causal pairs) against dense, both on the FA2-class kernel model, \
         causal, 32 heads, D=128; index building included"
    );
    let origin = Origin::Predicted(format!("the roofline ({} preset)", preset.name));
    let mut rows = vec![ReproduceRow::new(PAPER, &fig, ours, &origin, &note, &prov)];
    for causal in [true, false] {
        let Some(sparse) = fastest(timings, "block-sparse", SEQ, causal, Some((DENSITY, 0.03))) else {
            continue;
        };
        for (baseline, label) in [
            ("dense", "our dense kernel"),
            ("sdpa-flash", "SDPA's FlashAttention-2 backend"),
        ] {
            if let Some(dense) = fastest(timings, baseline, SEQ, causal, None) {
                let measured_prov = Provenance {
                    device: sparse.device.clone(),
                    ..Provenance::cpu()
                };
                let note = format!(
                    "our block-sparse kernel ({}, density {:.3}, {}) {:.3} ms against {label} {:.3} ms; \
                     kernel only",
                    sparse.params,
                    sparse.density,
                    if causal { "causal" } else { "non-causal" },
                    sparse.kernel_ms,
                    dense.kernel_ms
                );
                let origin = Origin::Measured(sparse.device.clone());
                rows.push(ReproduceRow::new(
                    PAPER,
                    &fig,
                    dense.kernel_ms / sparse.kernel_ms,
                    &origin,
                    &note,
                    &measured_prov,
                ));
            }
        }
    }
    Ok(rows)
}
