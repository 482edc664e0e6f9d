//! MInference (Jiang et al., arXiv 2407.02490): the A100 prefill latency table of
//! LLaMA-3-8B (FA-2 against MInference, 100K-1M), the end-to-end speedups, and the
//! per-kernel speedups over FlashAttention at 1M, all predicted by the roofline on the
//! A100 preset (the paper's card).

use anyhow::Result;
use sparselab_simulators::roofline::GpuPreset;

use super::papers::{figure, PaperFigure};
use super::predicted::{llama3_8b, prediction, speedup};
use super::row::{Origin, ReproduceRow};
use crate::commands::roofline::paper::predict_table;
use crate::commands::roofline::MODEL;
use crate::provenance::Provenance;

const PAPER: &str = "minference";

/// The latency table, the speedups and the kernel speedups, predicted on `hardware` (default a100).
pub fn rows(hardware: Option<&str>) -> Result<Vec<ReproduceRow>> {
    let preset = GpuPreset::load(hardware.unwrap_or("a100"))?;
    let prov = Provenance {
        device: format!("model {MODEL} on {}", preset.describe()),
        driver: "none".into(),
        cuda: "none".into(),
        ..Provenance::cpu()
    };
    let origin = Origin::Predicted(format!("the roofline ({} preset)", preset.name));
    let table = predict_table(&preset, "none", &prov)?;
    let mut rows = Vec::new();
    for r in &table {
        let fig = figure(
            PAPER,
            &format!("prefill latency {}", r.method),
            &format!("L={}", r.seq_len),
        )?;
        let note = if r.why.is_empty() {
            format!("attention {:.1} s + linear layers {:.1} s", r.attention_s, r.linear_s)
        } else {
            r.why.clone()
        };
        rows.push(ReproduceRow::new(PAPER, &fig, r.predicted_s, &origin, &note, &prov));
    }
    for fa in table.iter().filter(|r| r.method == "FA-2") {
        if let Some(mi) = table
            .iter()
            .find(|r| r.method == "MInference" && r.seq_len == fa.seq_len)
        {
            let fig = PaperFigure {
                quantity: "prefill speedup MInference over FA-2".into(),
                setting: format!("L={}", fa.seq_len),
                value: fa.paper_s / mi.paper_s,
                unit: "x".into(),
                source: format!("{} (ratio of the two latencies)", fa.source),
            };
            let ours = fa.predicted_s / mi.predicted_s;
            let note = if (ours / fig.value - 1.0).abs() > 0.25 {
                format!(
                    "the paper's times exceed the predicted ones by {:.1} s (FA-2) and {:.1} s (MInference): time \
                     that both pay outside the modeled attention and linear layers dilutes the paper's ratio \
                     (see the latency rows)",
                    fa.paper_s - fa.predicted_s,
                    mi.paper_s - mi.predicted_s
                )
            } else {
                String::new()
            };
            rows.push(ReproduceRow::new(PAPER, &fig, ours, &origin, &note, &prov));
        }
    }
    let shape = llama3_8b(1_000_000);
    for (quantity, spec) in [
        (
            "kernel speedup over FlashAttention vertical-slash",
            "vertical-slash:v=1000,s=6096",
        ),
        ("kernel speedup over FlashAttention block-sparse", "block-topk:k=100"),
    ] {
        let fig = figure(PAPER, quantity, "L=1000000")?;
        let ours = speedup(&preset, spec, shape, Some("minference"), "fa2")?;
        let density = prediction(&preset, spec, shape, Some("minference"))?.density;
        let mut note = format!(
            "{spec} on MInference's kernel model against dense FA-2, one layer (32 heads, 8 kv heads, D=128), \
             index building included; density {density:.4} after 64x64 tile rounding"
        );
        if (ours / fig.value - 1.0).abs() > 0.25 {
            note.push_str(&format!(
                ". The paper's {:.0}x at this density means its sparse kernel did a tile of work at {:.0}% of \
                 FlashAttention's rate per tile (or spent the rest on index building), where the model assumes \
                 the kernel's measured efficiency on every tile",
                fig.value,
                100.0 * fig.value * density
            ));
        }
        rows.push(ReproduceRow::new(PAPER, &fig, ours, &origin, &note, &prov));
    }
    Ok(rows)
}
