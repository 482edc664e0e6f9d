//! The comparison as text: a header line, the table of what changed (key, column,
//! base, new, change %, p, verdict) and the rows found in one file only.

use std::fmt::Write;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::{Comparison, Mode, Options, Verdict};

#[derive(Tabled)]
struct Line {
    key: String,
    column: String,
    base: String,
    new: String,
    #[tabled(rename = "change %")]
    change: String,
    p: String,
    verdict: String,
}

/// Key columns whose value differs between some of the rows shown (the others say nothing);
/// all of them when none differs.
fn informative(c: &Comparison) -> Vec<usize> {
    let keys: Vec<&Vec<String>> = c
        .findings
        .iter()
        .map(|f| &f.key)
        .chain(&c.only_base)
        .chain(&c.only_new)
        .collect();
    let varying: Vec<usize> = (0..c.key_columns.len())
        .filter(|&i| keys.iter().any(|k| k[i] != keys[0][i]))
        .collect();
    if varying.is_empty() {
        (0..c.key_columns.len()).collect()
    } else {
        varying
    }
}

fn show_key(c: &Comparison, cols: &[usize], key: &[String]) -> String {
    cols.iter()
        .map(|&i| format!("{}={}", c.key_columns[i], key[i]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The report printed by `sparselab compare`; `base_name` and `new_name` label the files.
pub fn render(c: &Comparison, opts: &Options, base_name: &str, new_name: &str) -> String {
    let mut out = String::new();
    let _ = match c.mode {
        Mode::Timing => writeln!(
            out,
            "{base_name} -> {new_name}: timings, Welch's t-test (two-sided) at alpha {}, minimum effect {}% of the median",
            opts.alpha,
            opts.min_effect * 100.0
        ),
        Mode::Exact => writeln!(
            out,
            "{base_name} -> {new_name}: deterministic output, measurements compared {}",
            if opts.rel_tol > 0.0 {
                format!("within a relative tolerance of {}", opts.rel_tol)
            } else {
                "exactly as written".to_string()
            }
        ),
    };
    let _ = writeln!(out, "key: {}", c.key_columns.join(", "));
    let cols = informative(c);
    let shown: Vec<Line> = c
        .findings
        .iter()
        .filter(|f| f.verdict != Verdict::Unchanged)
        .map(|f| Line {
            key: show_key(c, &cols, &f.key),
            column: f.column.clone(),
            base: f.base.clone(),
            new: f.new.clone(),
            change: f
                .change
                .map(|x| format!("{:+.2}", x * 100.0))
                .unwrap_or_else(|| "-".into()),
            p: f.p.map(|p| format!("{p:.2e}")).unwrap_or_else(|| "-".into()),
            verdict: if f.note.is_empty() {
                f.verdict.label().to_string()
            } else {
                format!("{} ({})", f.verdict.label(), f.note)
            },
        })
        .collect();
    if !shown.is_empty() {
        let _ = writeln!(out, "{}", Table::new(shown).with(Style::markdown()));
    }
    for (which, rows) in [(base_name, &c.only_base), (new_name, &c.only_new)] {
        if !rows.is_empty() {
            let _ = writeln!(out, "rows only in {which} ({}):", rows.len());
            for k in rows {
                let _ = writeln!(out, "  {}", show_key(c, &cols, k));
            }
        }
    }
    for (which, columns) in [(base_name, &c.columns_only_base), (new_name, &c.columns_only_new)] {
        if !columns.is_empty() {
            let _ = writeln!(out, "columns only in {which}: {}", columns.join(", "));
        }
    }
    let summary = match c.mode {
        Mode::Timing => format!(
            "{} rows matched: {} slower, {} faster, {} unchanged, {} untested",
            c.matched,
            c.count(Verdict::Slower),
            c.count(Verdict::Faster),
            c.count(Verdict::Unchanged),
            c.count(Verdict::Untested)
        ),
        Mode::Exact => format!(
            "{} rows matched: {} values changed, {} within tolerance",
            c.matched,
            c.findings.len(),
            c.within_tolerance
        ),
    };
    let _ = writeln!(out, "{summary}; {}", if c.failed() { "FAIL" } else { "ok" });
    out
}
