//! The papers' published figures, kept as CSV under `results/papers/` (one file per
//! paper, each row with its source) and embedded in the binary so `reproduce` works
//! from any directory.

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// One published figure.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct PaperFigure {
    /// What was measured, e.g. `density`.
    pub quantity: String,
    /// Under which setting, e.g. `stride=8 L=4096`.
    pub setting: String,
    /// The paper's number.
    pub value: f64,
    /// Its unit (`fraction`, `x`, `s`, ...).
    pub unit: String,
    /// Where the number comes from (paper, table or figure).
    pub source: String,
}

/// The embedded CSV of `paper` (file stem under `results/papers/`).
fn embedded(paper: &str) -> Option<&'static str> {
    Some(match paper {
        "xattention" => include_str!("../../../../results/papers/xattention.csv"),
        "sat-bdwp" => include_str!("../../../../results/papers/sat-bdwp.csv"),
        "zoology" => include_str!("../../../../results/papers/zoology.csv"),
        "seerattention" => include_str!("../../../../results/papers/seerattention.csv"),
        "minference" => include_str!("../../../../results/papers/minference.csv"),
        _ => return None,
    })
}

/// Parses a papers CSV (`quantity,setting,value,unit,source`); `name` labels errors.
pub fn parse(text: &str, name: &str) -> Result<Vec<PaperFigure>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize().enumerate() {
        let row: PaperFigure = row.with_context(|| format!("{name}: data row {}", i + 1))?;
        if !row.value.is_finite() {
            bail!("{name}: data row {}: value is not a finite number", i + 1);
        }
        if row.source.trim().is_empty() {
            bail!("{name}: data row {}: every figure needs a source", i + 1);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The figures of `paper`.
pub fn figures(paper: &str) -> Result<Vec<PaperFigure>> {
    let text = embedded(paper).with_context(|| format!("no figures are kept for paper `{paper}`"))?;
    parse(text, &format!("results/papers/{paper}.csv"))
}

/// The figure of `paper` with this quantity and setting.
pub fn figure(paper: &str, quantity: &str, setting: &str) -> Result<PaperFigure> {
    figures(paper)?
        .into_iter()
        .find(|f| f.quantity == quantity && f.setting == setting)
        .with_context(|| format!("results/papers/{paper}.csv has no `{quantity}` at `{setting}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_parses_with_sources() {
        for paper in ["xattention", "sat-bdwp", "zoology", "seerattention", "minference"] {
            let rows = figures(paper).unwrap();
            assert!(!rows.is_empty(), "{paper}");
            assert!(rows.iter().all(|r| r.value > 0.0), "{paper}");
        }
        assert_eq!(
            figure("sat-bdwp", "training speedup over dense", "2:8 average")
                .unwrap()
                .value,
            1.75
        );
    }

    #[test]
    fn missing_source_and_bad_values_are_errors() {
        let no_source = "quantity,setting,value,unit,source\nd,L=1,0.5,fraction, \n";
        assert!(format!("{:#}", parse(no_source, "x.csv").unwrap_err()).contains("needs a source"));
        let bad = "quantity,setting,value,unit,source\nd,L=1,half,fraction,paper\n";
        assert!(format!("{:#}", parse(bad, "x.csv").unwrap_err()).contains("x.csv: data row 1"));
        assert!(figures("nope").is_err());
    }
}
