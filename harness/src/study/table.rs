//! The recall-versus-speed table of the default study, as the terminal and the report show it.

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::recall::RecallRow;
use crate::commands::recall::budget_label;

#[derive(Tabled)]
struct Line {
    method: String,
    budget: String,
    density: String,
    #[tabled(rename = "recall mean")]
    recall_mean: String,
    #[tabled(rename = "recall min")]
    recall_min: String,
    #[tabled(rename = "work speedup")]
    work_speedup: String,
    #[tabled(rename = "predicted ms")]
    predicted_ms: String,
    #[tabled(rename = "predicted speedup")]
    predicted_speedup: String,
    #[tabled(rename = "accel speedup")]
    accel_speedup: String,
    #[tabled(rename = "measured ms")]
    measured_ms: String,
    #[tabled(rename = "measured speedup")]
    measured_speedup: String,
    #[tabled(rename = "est GFLOP")]
    est_gflop: String,
    pareto: String,
}

fn cell(x: Option<f64>, digits: usize, suffix: &str) -> String {
    match x {
        Some(v) => format!("{v:.digits$}{suffix}"),
        None => "-".into(),
    }
}

/// One workload's rows as a Markdown table: recall, every speed figure (`-` where a model did not
/// run), and `*` on the Pareto front of recall against `speedup` (`?` where unknown: a shard).
pub fn render_study_table(rows: &[RecallRow]) -> String {
    let lines: Vec<Line> = rows
        .iter()
        .map(|r| Line {
            method: r.method.clone(),
            budget: budget_label(&r.params, &r.params_used),
            density: format!("{:.3}", r.density),
            recall_mean: format!("{:.4}", r.recall_mean),
            recall_min: format!("{:.4}", r.recall_min),
            work_speedup: format!("{:.2}x", r.work_speedup),
            predicted_ms: cell(r.predicted_ms, 4, ""),
            predicted_speedup: cell(r.predicted_speedup, 2, "x"),
            accel_speedup: cell(r.accel_speedup, 2, "x"),
            measured_ms: cell(r.measured_ms, 4, ""),
            measured_speedup: cell(r.measured_speedup, 2, "x"),
            est_gflop: format!("{:.3}", r.est_flops / 1e9),
            pareto: match r.pareto {
                Some(true) => "*".into(),
                Some(false) => String::new(),
                None => "?".into(),
            },
        })
        .collect();
    Table::new(lines).with(Style::markdown()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_models_show_a_dash() {
        assert_eq!(cell(None, 2, "x"), "-");
        assert_eq!(cell(Some(1.234), 2, "x"), "1.23x");
    }
}
