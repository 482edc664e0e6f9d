//! `sparselab roofline --paper minference`: MInference's A100 prefill table (REFERENCE.md §4,
//! `results/papers/minference.csv`) predicted for LLaMA-3-8B: FlashAttention-2 (dense causal) and
//! MInference (vertical-slash (1000, 6096) with local slashes, index building included), attention
//! of all 32 layers plus the linear layers, beside the paper's seconds with the ratio and, where
//! they differ by more than 25%, a sentence on why.

use anyhow::{Context, Result};
use serde::Serialize;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::{load_preset, RooflineArgs, MODEL};
use crate::commands::reproduce::papers;
use crate::output::write_csv;
use crate::provenance::Provenance;
use sparselab_simulators::roofline::llama::{
    explain_gap, predict_prefill, PrefillAttention, PrefillPrediction, TransformerConfig,
};
use sparselab_simulators::roofline::GpuPreset;

/// The paper's figures, embedded so the command works from any directory.
const PAPER_CSV: &str = include_str!("../../../../results/papers/minference.csv");

/// The two rows of the paper's table: (label, quantity in the CSV, attention).
pub const METHODS: [(&str, &str, PrefillAttention); 2] = [
    (
        "FA-2",
        "prefill latency FA-2",
        PrefillAttention::Dense { kernel: "fa2" },
    ),
    (
        "MInference",
        "prefill latency MInference",
        PrefillAttention::VerticalSlash {
            v: 1000,
            s: 6096,
            spread: 0.0,
            kernel: "minference",
        },
    ),
];

/// One CSV row: a method at one length, predicted and published.
#[derive(Debug, Clone, Serialize)]
pub struct PaperRow {
    /// `MInference` (the paper).
    pub paper: String,
    /// FA-2 or MInference.
    pub method: String,
    /// Tokens.
    pub seq_len: u64,
    /// Preset name.
    pub hardware: String,
    /// Attention density after tile rounding.
    pub density: f64,
    /// All layers' attention, predicted, s.
    pub attention_s: f64,
    /// All layers' attention at the ideal ceilings, s.
    pub attention_roofline_s: f64,
    /// Of which index building, predicted, s.
    pub estimation_s: f64,
    /// Linear layers (projections, MLP, LM head), predicted, s.
    pub linear_s: f64,
    /// Attention plus linear layers, s.
    pub predicted_s: f64,
    /// The paper's seconds.
    pub paper_s: f64,
    /// predicted_s / paper_s.
    pub ratio: f64,
    /// attention_s / paper_s.
    pub attention_ratio: f64,
    /// Why they differ by more than 25% (empty when they agree).
    pub why: String,
    /// Where the paper's number is from.
    pub source: String,
    /// Model version.
    pub model: String,
    /// The preset after scaling.
    pub preset: String,
    /// --scale factors.
    pub scale: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
}

/// The paper's lengths and seconds of `quantity`, in file order.
fn published(quantity: &str) -> Result<Vec<(u64, f64, String)>> {
    let rows = papers::parse(PAPER_CSV, "results/papers/minference.csv")?;
    rows.into_iter()
        .filter(|r| r.quantity == quantity)
        .map(|r| {
            let l = r
                .setting
                .strip_prefix("L=")
                .and_then(|v| v.parse::<u64>().ok())
                .with_context(|| {
                    format!(
                        "results/papers/minference.csv: setting `{}` is not L=<tokens>",
                        r.setting
                    )
                })?;
            Ok((l, r.value, r.source))
        })
        .collect()
}

/// Predicts the table on `preset` (library entry point for `reproduce`).
pub fn predict_table(preset: &GpuPreset, scale: &str, provenance: &Provenance) -> Result<Vec<PaperRow>> {
    let model = TransformerConfig::LLAMA3_8B;
    let mut rows = Vec::new();
    for (label, quantity, attention) in METHODS {
        for (l, paper_s, source) in published(quantity)? {
            let p: PrefillPrediction = predict_prefill(preset, &model, l, attention)
                .with_context(|| format!("predicting {label} at {l} tokens"))?;
            rows.push(PaperRow {
                paper: "MInference".into(),
                method: label.into(),
                seq_len: l,
                hardware: preset.name.clone(),
                density: p.layer.density,
                attention_s: p.attention_s,
                attention_roofline_s: p.attention_roofline_s,
                estimation_s: model.layers as f64 * p.layer.predicted_estimation.time_s,
                linear_s: p.linear_s,
                predicted_s: p.total_s(),
                paper_s,
                ratio: p.total_s() / paper_s,
                attention_ratio: p.attention_s / paper_s,
                why: explain_gap(label, paper_s, &p).unwrap_or_default(),
                source,
                model: MODEL.into(),
                preset: preset.describe(),
                scale: scale.into(),
                git_commit: provenance.git_commit.clone(),
                date: provenance.date.clone(),
            });
        }
    }
    Ok(rows)
}

#[derive(Tabled)]
struct Line {
    method: String,
    #[tabled(rename = "L")]
    seq_len: String,
    density: String,
    #[tabled(rename = "attention s")]
    attention: String,
    #[tabled(rename = "index s")]
    index: String,
    #[tabled(rename = "+ linear s")]
    linear: String,
    #[tabled(rename = "predicted s")]
    predicted: String,
    #[tabled(rename = "paper s")]
    paper: String,
    #[tabled(rename = "predicted/paper")]
    ratio: String,
    #[tabled(rename = "attention/paper")]
    attention_ratio: String,
}

/// Runs `--paper minference`: prints the table, the speedups, the sentences; writes the CSV.
pub fn run(args: &RooflineArgs) -> Result<()> {
    let (preset, scale) = load_preset(args.hardware.as_deref(), "a100", &args.scales)?;
    let rows = predict_table(&preset, &scale, &Provenance::cpu())?;
    println!(
        "MInference (arXiv 2407.02490) prefill of LLaMA-3-8B (32 layers, 32 heads, 8 kv heads, D=128) | {} | scale {scale}",
        preset.describe()
    );
    let lines = rows.iter().map(|r| Line {
        method: r.method.clone(),
        seq_len: format!("{}K", r.seq_len / 1000),
        density: format!("{:.4}", r.density),
        attention: format!("{:.1}", r.attention_s),
        index: format!("{:.2}", r.estimation_s),
        linear: format!("{:.1}", r.linear_s),
        predicted: format!("{:.1}", r.predicted_s),
        paper: format!("{:.1}", r.paper_s),
        ratio: format!("{:.2}", r.ratio),
        attention_ratio: format!("{:.2}", r.attention_ratio),
    });
    println!("{}", Table::new(lines).with(Style::markdown()));
    println!("\nspeedup of MInference over FA-2, predicted (paper):");
    for fa in rows.iter().filter(|r| r.method == "FA-2") {
        if let Some(mi) = rows
            .iter()
            .find(|r| r.method == "MInference" && r.seq_len == fa.seq_len)
        {
            println!(
                "  {}K: {:.1}x ({:.1}x)",
                fa.seq_len / 1000,
                fa.predicted_s / mi.predicted_s,
                fa.paper_s / mi.paper_s
            );
        }
    }
    let gaps: Vec<&PaperRow> = rows.iter().filter(|r| !r.why.is_empty()).collect();
    if !gaps.is_empty() {
        println!("\nwhere the prediction differs from the paper by more than 25%:");
        for r in gaps {
            println!("- {}", r.why);
        }
    }
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_table_has_both_methods_at_five_lengths() {
        let a100 = GpuPreset::load("a100").unwrap();
        let rows = predict_table(&a100, "none", &Provenance::cpu()).unwrap();
        assert_eq!(rows.len(), 10);
        assert_eq!(published("prefill latency FA-2").unwrap()[4].1, 1765.6);
        for r in &rows {
            assert!(r.predicted_s > 0.0 && r.paper_s > 0.0, "{r:?}");
            assert_eq!(r.why.is_empty(), (0.75..=1.25).contains(&r.ratio), "{r:?}");
        }
        // Attention grows as L^2 for FA-2: 1M costs about 100x the 100K attention.
        let fa: Vec<&PaperRow> = rows.iter().filter(|r| r.method == "FA-2").collect();
        let growth = fa[4].attention_s / fa[0].attention_s;
        assert!((90.0..110.0).contains(&growth), "{growth}");
    }
}
