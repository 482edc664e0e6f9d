//! One timed row of BASE against its match in NEW: Welch's t-test on the samples
//! and the relative change of the median; a significant slowdown needs both
//! `p < alpha` and a median slower by more than the minimum effect.

use super::columns::{MEDIAN_COLUMNS, SAMPLES};
use super::error::CompareError;
use super::stats::{median, parse_samples, welch_t_test};
use super::table::CsvTable;
use super::{Finding, Options, Verdict};

/// Where a file keeps its timings.
#[derive(Debug, Clone, Copy)]
pub struct TimingColumns {
    samples: Option<usize>,
    median: Option<usize>,
}

impl TimingColumns {
    /// The samples column and the first median column (`median_ms`, `kernel_ms`, `time_ms`) of `table`.
    pub fn of(table: &CsvTable) -> Self {
        Self {
            samples: table.column(SAMPLES),
            median: MEDIAN_COLUMNS.iter().find_map(|c| table.column(c)),
        }
    }

    /// Row `i`'s samples (empty when it has none) and its median.
    fn read(&self, table: &CsvTable, i: usize) -> Result<(Vec<f64>, f64), CompareError> {
        let line = table.lines[i];
        let samples = match self.samples {
            Some(c) => parse_samples(&table.rows[i][c]).map_err(|reason| CompareError::BadSamples {
                path: table.path.clone(),
                line,
                value: table.rows[i][c].clone(),
                reason,
            })?,
            None => Vec::new(),
        };
        if !samples.is_empty() {
            return Ok((samples.clone(), median(&samples)));
        }
        let c = self.median.ok_or_else(|| CompareError::NoTiming {
            path: table.path.clone(),
            line,
            expected: MEDIAN_COLUMNS.join(", "),
        })?;
        let field = &table.rows[i][c];
        let value = field
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| CompareError::BadValue {
                path: table.path.clone(),
                line,
                column: table.header[c].clone(),
                expected: "a time in ms >= 0".into(),
                value: field.clone(),
            })?;
        Ok((Vec::new(), value))
    }
}

/// Compares row `bi` of `base` with row `ni` of `new`.
pub fn compare_timed(
    (base, base_cols, bi): (&CsvTable, TimingColumns, usize),
    (new, new_cols, ni): (&CsvTable, TimingColumns, usize),
    key: Vec<String>,
    opts: &Options,
) -> Result<Finding, CompareError> {
    let (bs, bm) = base_cols.read(base, bi)?;
    let (ns, nm) = new_cols.read(new, ni)?;
    let change = if bm > 0.0 { (nm - bm) / bm } else { 0.0 };
    let fmt = |m: f64, s: &[f64]| {
        if s.is_empty() {
            format!("{m:.4} ms")
        } else {
            format!("{m:.4} ms (n={})", s.len())
        }
    };
    let test = welch_t_test(&bs, &ns);
    let (verdict, note) = match test {
        None => {
            let which = match (bs.len() < 2, ns.len() < 2) {
                (true, true) => "both files",
                (true, false) => "BASE",
                _ => "NEW",
            };
            (
                Verdict::Untested,
                format!("fewer than 2 samples in {which}: medians compared, no test possible"),
            )
        }
        Some(w) if w.p < opts.alpha && change > opts.min_effect => (Verdict::Slower, String::new()),
        Some(w) if w.p < opts.alpha && change < -opts.min_effect => (Verdict::Faster, String::new()),
        Some(w) if w.p < opts.alpha => (Verdict::Unchanged, "significant but below the minimum effect".into()),
        Some(_) => (Verdict::Unchanged, String::new()),
    };
    Ok(Finding {
        key,
        column: if bs.is_empty() && ns.is_empty() {
            "median".into()
        } else {
            "median of samples_ms".into()
        },
        base: fmt(bm, &bs),
        new: fmt(nm, &ns),
        change: Some(change),
        p: test.map(|w| w.p),
        verdict,
        note,
    })
}
