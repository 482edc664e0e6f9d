//! `sparselab simulate`: a BDWP N:M sparse training step on the accelerator model, per layer and
//! pass, with the speedup over dense training on the same hardware.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::output::write_csv;
use crate::provenance::Provenance;
use sparselab_simulators::accelerator::{
    AcceleratorConfig, Effect, Effects, ModelSpec, NmRatio, Pass, PassRow, StepResult, StepSimulator, Totals,
    DEFAULT_PRESET, MODEL_NAMES,
};

/// Arguments of `sparselab simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Hardware preset: a built-in name (vcu1525, asic128) or a path to a TOML file. Default: vcu1525,
    /// the VCU1525-like FPGA design point.
    #[arg(long)]
    pub preset: Option<String>,
    /// Models, comma-separated: resnet18, resnet50, vgg16, vit-b16, bert-layer, or `all`.
    #[arg(long, default_value = "resnet50")]
    pub model: String,
    /// N:M ratios of the weights, comma-separated (dense training is always simulated as the baseline).
    #[arg(long, default_value = "2:4,1:4,2:8,1:8")]
    pub nm: String,
    /// Images (CNNs, ViT) or sequences (BERT) per training step.
    #[arg(long, default_value_t = 32)]
    pub batch: u64,
    /// Tokens per sequence for bert-layer.
    #[arg(long, default_value_t = 128)]
    pub seq: u64,
    /// Also simulate with each modeled effect switched off (and all of them), to show what keeps
    /// the speedup below its MAC-count bound.
    #[arg(long)]
    pub ablation: bool,
    /// Write every row (per layer and pass, per-pass totals, step totals) as CSV here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One CSV row: a layer's pass, a per-pass total (`layer=total`) or the step (`layer=total,pass=step`).
#[derive(Debug, Clone, Serialize)]
pub struct SimulateRow {
    /// Model name.
    pub model: String,
    /// Images or sequences per step.
    pub batch: u64,
    /// Tokens per sequence (transformers), else 0.
    pub seq: u64,
    /// Layer name, or `total`.
    pub layer: String,
    /// fwd, bwd_data, wgrad, bwd_a, bwd_b, update, prune, or `step`.
    pub pass: String,
    /// `dense` or N:M.
    pub nm: String,
    /// Effects switched off (`none` for the full model).
    pub effects_off: String,
    /// os or ws (array passes of one layer), else empty.
    pub dataflow: String,
    /// GEMM rows, reduction, columns and instances (array passes of one layer).
    pub m: Option<u64>,
    /// GEMM reduction length.
    pub k: Option<u64>,
    /// GEMM columns.
    pub n: Option<u64>,
    /// GEMM instances.
    pub count: Option<u64>,
    /// Whether the pass alternated tiles with the layer's other backward GEMM.
    pub interleaved: bool,
    /// Multiply-accumulates performed.
    pub macs: u64,
    /// Cycles (compute plus stalls).
    pub cycles: u64,
    /// Cycles the array computed.
    pub compute_cycles: u64,
    /// Cycles waiting for DRAM or the pruning engine.
    pub stall_cycles: u64,
    /// Performed MACs over PEs x cycles.
    pub util: f64,
    /// Bytes moved to and from DRAM.
    pub dram_bytes: u64,
    /// Energy from the preset's per-access table, microjoules.
    pub energy_uj: f64,
    /// Of which DRAM, microjoules.
    pub energy_dram_uj: f64,
    /// Wall time at the preset's clock, milliseconds.
    pub time_ms: f64,
    /// Dense cycles of the same layer and pass over these cycles (empty where dense has none).
    pub speedup_vs_dense: Option<f64>,
    /// The preset's name.
    pub preset: String,
    /// The model's parameters (in place of a device).
    pub device: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
}

/// Parses a comma-separated list of N:M ratios (`--nm 2:4,2:8`).
pub fn parse_nm_list(text: &str) -> Result<Vec<NmRatio>> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(NmRatio::parse)
        .collect::<Result<Vec<_>, _>>()
        .context("parsing --nm")
}

/// The models of `--model`: a comma-separated list, or `all` for every built-in model.
pub fn model_names(text: &str) -> Vec<&str> {
    if text.trim() == "all" {
        MODEL_NAMES.to_vec()
    } else {
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
    }
}

/// Runs the command: simulates, prints the step table (and the ablation), writes the CSV.
pub fn run(args: &SimulateArgs) -> Result<()> {
    let preset = args.preset.as_deref().unwrap_or(DEFAULT_PRESET);
    let config = AcceleratorConfig::preset(preset).context("loading the accelerator preset")?;
    let nms = parse_nm_list(&args.nm)?;
    let models = model_names(&args.model);
    let provenance = Provenance {
        device: format!("accelerator model {}", config.describe()),
        driver: "none".into(),
        cuda: "none".into(),
        ..Provenance::cpu()
    };
    let ctx = RowContext {
        config: &config,
        provenance: &provenance,
    };
    let mut sim = StepSimulator::new(&config);
    let (mut rows, mut summary, mut ablation) = (Vec::new(), Vec::new(), Vec::new());
    for name in &models {
        let spec = ModelSpec::by_name(name, args.batch, args.seq).with_context(|| format!("model {name}"))?;
        let mut effect_sets = vec![Effects::ALL_ON];
        if args.ablation {
            effect_sets.extend(Effect::ALL.iter().map(|e| Effects::ALL_ON.without(*e)));
            effect_sets.push(Effects::ALL_OFF);
        }
        for effects in effect_sets {
            let full = effects == Effects::ALL_ON;
            let dense = sim
                .step(&spec, None, &effects)
                .with_context(|| format!("simulating dense {name}"))?;
            let mut steps = vec![dense.clone()];
            for nm in &nms {
                steps.push(
                    sim.step(&spec, Some(*nm), &effects)
                        .with_context(|| format!("simulating {name} at {nm}"))?,
                );
            }
            for step in &steps {
                let speedup = dense.total_cycles() / step.total_cycles();
                if full {
                    rows.extend(ctx.layer_rows(&spec, step, &dense));
                    summary.push(SummaryLine::new(&spec, step, speedup, &config));
                }
                if step.nm.is_some() {
                    ablation.push((spec.name.clone(), step.nm_label(), effects.off_label(), speedup));
                }
                rows.push(ctx.total_row(&spec, step, "step", &step.total(), Some(speedup)));
            }
        }
    }
    println!(
        "{} | batch {}{} | BDWP step: forward and backward-data N:M sparse, weight gradient dense",
        config.describe(),
        args.batch,
        if models.contains(&"bert-layer") {
            format!(", bert seq {}", args.seq)
        } else {
            String::new()
        }
    );
    println!("{}", Table::new(&summary).with(Style::markdown()));
    if args.ablation {
        println!("\nspeedup over dense with each modeled effect switched off alone, then all of them:");
        println!("{}", Table::new(ablation_table(&ablation)).with(Style::markdown()));
    }
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

/// What every row of one run shares.
struct RowContext<'a> {
    config: &'a AcceleratorConfig,
    provenance: &'a Provenance,
}

impl RowContext<'_> {
    fn row(&self, spec: &ModelSpec, step: &StepResult, layer: &str, pass: &str, t: &Totals) -> SimulateRow {
        let energy = t.energy(&self.config.energy);
        SimulateRow {
            model: spec.name.clone(),
            batch: spec.batch,
            seq: spec.seq,
            layer: layer.to_string(),
            pass: pass.to_string(),
            nm: step.nm_label(),
            effects_off: step.effects.off_label(),
            dataflow: String::new(),
            m: None,
            k: None,
            n: None,
            count: None,
            interleaved: false,
            macs: t.counts.macs,
            cycles: t.cycles.round() as u64,
            compute_cycles: t.compute_cycles,
            stall_cycles: t.stall_cycles.round() as u64,
            util: t.utilization(self.config.array_shape().pes()),
            dram_bytes: t.counts.dram_bytes.round() as u64,
            energy_uj: energy.total_pj() / 1e6,
            energy_dram_uj: energy.dram_pj / 1e6,
            time_ms: t.cycles * self.config.seconds_per_cycle() * 1e3,
            speedup_vs_dense: None,
            preset: self.config.name.clone(),
            device: self.provenance.device.clone(),
            git_commit: self.provenance.git_commit.clone(),
            date: self.provenance.date.clone(),
        }
    }

    fn total_row(
        &self,
        spec: &ModelSpec,
        step: &StepResult,
        pass: &str,
        t: &Totals,
        speedup: Option<f64>,
    ) -> SimulateRow {
        SimulateRow {
            speedup_vs_dense: speedup,
            ..self.row(spec, step, "total", pass, t)
        }
    }

    /// Per layer and pass, then per-pass totals (the step row is added by the caller).
    fn layer_rows(&self, spec: &ModelSpec, step: &StepResult, dense: &StepResult) -> Vec<SimulateRow> {
        let dense_cycles: HashMap<(&str, Pass), f64> = dense
            .rows
            .iter()
            .map(|r| ((r.layer.as_str(), r.pass), r.cycles))
            .collect();
        let ratio = |dense: Option<f64>, cycles: f64| dense.filter(|d| *d > 0.0 && cycles > 0.0).map(|d| d / cycles);
        let mut out: Vec<SimulateRow> = step
            .rows
            .iter()
            .map(|r: &PassRow| {
                let t = Totals::of([r]);
                let mut row = self.row(spec, step, &r.layer, r.pass.name(), &t);
                if let Some(g) = r.gemm {
                    (row.m, row.k, row.n, row.count) = (Some(g.m), Some(g.k), Some(g.n), Some(g.count));
                }
                row.dataflow = r.dataflow.map(|d| d.to_string()).unwrap_or_default();
                row.interleaved = r.interleaved;
                row.speedup_vs_dense = ratio(dense_cycles.get(&(r.layer.as_str(), r.pass)).copied(), r.cycles);
                row
            })
            .collect();
        for pass in Pass::ALL {
            let t = step.pass_total(pass);
            if t.cycles > 0.0 || t.counts.dram_bytes > 0.0 {
                let speedup = ratio(Some(dense.pass_total(pass).cycles), t.cycles);
                out.push(self.total_row(spec, step, pass.name(), &t, speedup));
            }
        }
        out
    }
}

/// One line of the terminal table: a whole training step.
#[derive(Tabled)]
struct SummaryLine {
    model: String,
    nm: String,
    #[tabled(rename = "step Mcycles")]
    mcycles: String,
    #[tabled(rename = "step ms")]
    ms: String,
    #[tabled(rename = "fwd/bwd/wgrad/other %")]
    split: String,
    util: String,
    #[tabled(rename = "stall %")]
    stall: String,
    #[tabled(rename = "DRAM GB")]
    dram: String,
    #[tabled(rename = "energy mJ")]
    energy: String,
    #[tabled(rename = "speedup")]
    speedup: String,
}

impl SummaryLine {
    fn new(spec: &ModelSpec, step: &StepResult, speedup: f64, config: &AcceleratorConfig) -> Self {
        let t = step.total();
        let share = |passes: &[Pass]| {
            let c: f64 = passes.iter().map(|p| step.pass_total(*p).cycles).sum();
            format!("{:.0}", 100.0 * c / t.cycles)
        };
        SummaryLine {
            model: spec.name.clone(),
            nm: step.nm_label(),
            mcycles: format!("{:.1}", t.cycles / 1e6),
            ms: format!("{:.1}", t.cycles * config.seconds_per_cycle() * 1e3),
            split: [
                share(&[Pass::Forward]),
                share(&[Pass::BackwardData, Pass::BackwardA]),
                share(&[Pass::WeightGradient, Pass::BackwardB]),
                share(&[Pass::Update, Pass::Prune]),
            ]
            .join("/"),
            util: format!("{:.2}", t.utilization(config.array_shape().pes())),
            stall: format!("{:.1}", 100.0 * t.stall_cycles / t.cycles),
            dram: format!("{:.2}", t.counts.dram_bytes / 1e9),
            energy: format!("{:.1}", t.energy(&config.energy).total_pj() / 1e9),
            speedup: format!("{speedup:.3}"),
        }
    }
}

/// One line of the ablation table: a model and ratio, its speedup with all effects modeled, with
/// each switched off alone, and with all off (the MAC-count bound).
#[derive(Tabled)]
struct AblationLine {
    model: String,
    nm: String,
    full: String,
    #[tabled(rename = "-array_underuse")]
    array_underuse: String,
    #[tabled(rename = "-metadata")]
    metadata: String,
    #[tabled(rename = "-dram_stalls")]
    dram_stalls: String,
    #[tabled(rename = "-prune_latency")]
    prune_latency: String,
    #[tabled(rename = "-weight_update")]
    weight_update: String,
    #[tabled(rename = "all off")]
    all_off: String,
}

/// Builds the ablation table from (model, nm, effects off, speedup) entries.
fn ablation_table(entries: &[(String, String, String, f64)]) -> Vec<AblationLine> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for (model, nm, _, _) in entries {
        if !keys.contains(&(model.clone(), nm.clone())) {
            keys.push((model.clone(), nm.clone()));
        }
    }
    keys.into_iter()
        .map(|(model, nm)| {
            let get = |off: &str| {
                entries
                    .iter()
                    .find(|(m, n, o, _)| *m == model && *n == nm && o == off)
                    .map_or_else(|| "-".to_string(), |e| format!("{:.3}", e.3))
            };
            AblationLine {
                full: get("none"),
                array_underuse: get(Effect::ArrayUnderuse.name()),
                metadata: get(Effect::Metadata.name()),
                dram_stalls: get(Effect::DramStalls.name()),
                prune_latency: get(Effect::PruneLatency.name()),
                weight_update: get(Effect::WeightUpdate.name()),
                all_off: get("all"),
                model,
                nm,
            }
        })
        .collect()
}
