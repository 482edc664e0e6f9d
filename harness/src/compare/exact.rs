//! One row of a deterministic output (recall tables, roofline, accelerator
//! model) against its match: every compared column must be written identically,
//! or, with `--rel-tol`, differ by at most that fraction.

use super::table::CsvTable;
use super::{Finding, Options, Verdict};

/// The differences between row `bi` of `base` and row `ni` of `new` in `columns`
/// (pairs of column indices in BASE and NEW). Returns the findings and how many
/// values differed but stayed within the tolerance.
pub fn compare_exact(
    (base, bi): (&CsvTable, usize),
    (new, ni): (&CsvTable, usize),
    columns: &[(usize, usize)],
    key: &[String],
    opts: &Options,
) -> (Vec<Finding>, usize) {
    let mut findings = Vec::new();
    let mut within = 0;
    for &(bc, nc) in columns {
        let (b, n) = (&base.rows[bi][bc], &new.rows[ni][nc]);
        if b == n {
            continue;
        }
        let numbers = b.trim().parse::<f64>().ok().zip(n.trim().parse::<f64>().ok());
        let change = numbers.and_then(|(x, y)| (x != 0.0).then(|| (y - x) / x.abs()));
        let close = numbers.is_some_and(|(x, y)| (x - y).abs() <= opts.rel_tol * x.abs().max(y.abs()));
        if close {
            within += 1;
            continue;
        }
        findings.push(Finding {
            key: key.to_vec(),
            column: base.header[bc].clone(),
            base: b.clone(),
            new: n.clone(),
            change,
            p: None,
            verdict: Verdict::Changed,
            note: String::new(),
        });
    }
    (findings, within)
}
