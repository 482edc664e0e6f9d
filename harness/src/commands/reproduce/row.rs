//! One line of a reproduction: the paper's number beside ours, with how ours was obtained.

use serde::Serialize;
use tabled::settings::Style;
use tabled::Tabled;

use super::papers::PaperFigure;
use crate::provenance::Provenance;

/// How our number was obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Measured on a device (the CPU, or a GPU by name).
    Measured(String),
    /// Predicted by a model (the roofline with a preset, the accelerator model with a preset).
    Predicted(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Measured(device) => write!(f, "measured on {device}"),
            Origin::Predicted(model) => write!(f, "predicted by {model}"),
        }
    }
}

/// One CSV row of `sparselab reproduce`.
#[derive(Debug, Clone, Serialize)]
pub struct ReproduceRow {
    /// Paper target, e.g. `xattention`.
    pub paper: String,
    /// What is compared.
    pub quantity: String,
    /// Under which setting.
    pub setting: String,
    /// The paper's number.
    pub paper_value: f64,
    /// Ours.
    pub ours: f64,
    /// Ours over the paper's.
    pub ratio: f64,
    /// Unit of both numbers.
    pub unit: String,
    /// `measured on ...` or `predicted by ...`.
    pub how: String,
    /// What differs between the paper's setup and ours (empty when nothing material).
    pub note: String,
    /// Where the paper's number comes from.
    pub source: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the run.
    pub date: String,
    /// Device that computed our number (or the model).
    pub device: String,
    /// GPU driver, or `none`.
    pub driver: String,
    /// CUDA version, or `none`.
    pub cuda: String,
}

impl ReproduceRow {
    /// Our `ours` beside the paper's `figure`.
    pub fn new(paper: &str, figure: &PaperFigure, ours: f64, origin: &Origin, note: &str, prov: &Provenance) -> Self {
        Self {
            paper: paper.to_string(),
            quantity: figure.quantity.clone(),
            setting: figure.setting.clone(),
            paper_value: figure.value,
            ours,
            ratio: ours / figure.value,
            unit: figure.unit.clone(),
            how: origin.to_string(),
            note: note.to_string(),
            source: figure.source.clone(),
            git_commit: prov.git_commit.clone(),
            date: prov.date.clone(),
            device: prov.device.clone(),
            driver: prov.driver.clone(),
            cuda: prov.cuda.clone(),
        }
    }
}

#[derive(Tabled)]
struct Line {
    quantity: String,
    setting: String,
    paper: String,
    ours: String,
    ratio: String,
    how: String,
}

fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

/// The rows as a Markdown table, then each row's note and every distinct source.
pub fn render(rows: &[ReproduceRow]) -> String {
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| Line {
            quantity: r.quantity.clone(),
            setting: r.setting.clone(),
            paper: format!("{} {}", number(r.paper_value), r.unit),
            ours: format!("{} {}", number(r.ours), r.unit),
            ratio: format!("{:.2}", r.ratio),
            how: r.how.clone(),
        })
        .collect();
    let mut out = tabled::Table::new(lines).with(Style::markdown()).to_string();
    // One line per distinct note, naming the settings it applies to.
    let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        match notes.iter_mut().find(|(n, _)| *n == r.note) {
            Some((_, settings)) => settings.push(&r.setting),
            None => notes.push((&r.note, vec![&r.setting])),
        }
    }
    if !notes.is_empty() {
        out.push_str("\n\nnotes:");
        for (note, settings) in notes {
            out.push_str(&format!("\n- {}: {note}", settings.join(", ")));
        }
    }
    let mut sources: Vec<&str> = Vec::new();
    for r in rows {
        if !sources.contains(&r.source.as_str()) {
            sources.push(&r.source);
        }
    }
    out.push_str("\n\nsources:\n");
    for s in sources {
        out.push_str(&format!("- {s}\n"));
    }
    out
}
