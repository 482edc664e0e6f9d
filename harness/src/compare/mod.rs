//! Regression comparison of two result CSVs (`sparselab compare BASE NEW`).
//!
//! | module | job |
//! |---|---|
//! | [`table`] | a CSV as text rows, with line numbers for errors |
//! | [`columns`] | which columns are key, measurement, samples, provenance (the rule) |
//! | [`key`] | rows matched by key; duplicate keys refused |
//! | [`stats`] | samples parser, median, Welch's t-test |
//! | [`timing`] | a timed row: test and minimum effect |
//! | [`exact`] | a deterministic row: values written identically (or within `--rel-tol`) |
//! | [`report`] | the table of what changed |
//!
//! A file with a `samples_ms` column (or a measured median, `kernel_ms` or `median_ms`) is a timing
//! file: each matched row is tested and only a
//! significant slowdown fails. Any other file is deterministic output: every measurement must match,
//! and rows or measurement columns present in one file only fail too. [`Options::exact`] compares a
//! file with medians but no samples exactly (predicted times, e.g. `sparselab roofline`'s `kernel_ms`).

pub mod columns;
pub mod error;
pub mod exact;
pub mod key;
pub mod report;
pub mod stats;
pub mod table;
pub mod timing;

pub use error::CompareError;
pub use table::CsvTable;

use columns::{role, Role};
use key::{index_rows, KeyColumns};
use timing::{compare_timed, TimingColumns};

/// How to compare.
#[derive(Debug, Clone)]
pub struct Options {
    /// Significance level of the t-test.
    pub alpha: f64,
    /// Smallest relative change of the median that counts (0.05 = 5%).
    pub min_effect: f64,
    /// Relative tolerance of deterministic values (0 = written identically).
    pub rel_tol: f64,
    /// Key columns; `None` = the default rule of [`columns`].
    pub key: Option<Vec<String>>,
    /// Columns to leave out of both the key and the comparison.
    pub ignore: Vec<String>,
    /// Compare as deterministic output even when the files have time columns (model predictions).
    pub exact: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            alpha: 0.01,
            min_effect: 0.05,
            rel_tol: 0.0,
            key: None,
            ignore: Vec::new(),
            exact: false,
        }
    }
}

/// What one comparison concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Significantly slower by more than the minimum effect: a regression.
    Slower,
    /// Significantly faster by more than the minimum effect.
    Faster,
    /// No significant change of at least the minimum effect.
    Unchanged,
    /// Too few samples to test; the medians are shown.
    Untested,
    /// A deterministic value differs.
    Changed,
}

impl Verdict {
    /// The word printed in the table.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Slower => "SLOWER",
            Verdict::Faster => "faster",
            Verdict::Unchanged => "unchanged",
            Verdict::Untested => "untested",
            Verdict::Changed => "CHANGED",
        }
    }
}

/// One compared value.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Key values of the row (in [`Comparison::key_columns`] order).
    pub key: Vec<String>,
    /// The compared column (or `median of samples_ms`).
    pub column: String,
    /// BASE's value as shown.
    pub base: String,
    /// NEW's value as shown.
    pub new: String,
    /// `(new - base) / base`, when both are numbers.
    pub change: Option<f64>,
    /// The test's p-value, for timings.
    pub p: Option<f64>,
    /// The conclusion.
    pub verdict: Verdict,
    /// Why, when it needs saying.
    pub note: String,
}

/// Timing file (tested) or deterministic output (exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Samples and Welch's t-test.
    Timing,
    /// Values compared as written.
    Exact,
}

/// Everything `compare` found.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// How the files were compared.
    pub mode: Mode,
    /// The key columns.
    pub key_columns: Vec<String>,
    /// Rows present in both files.
    pub matched: usize,
    /// One per timed row (timing mode) or per differing value (exact mode).
    pub findings: Vec<Finding>,
    /// Values that differed within `--rel-tol`.
    pub within_tolerance: usize,
    /// Keys of rows only in BASE, in BASE's order.
    pub only_base: Vec<Vec<String>>,
    /// Keys of rows only in NEW, in NEW's order.
    pub only_new: Vec<Vec<String>>,
    /// Compared columns only in BASE.
    pub columns_only_base: Vec<String>,
    /// Compared columns only in NEW.
    pub columns_only_new: Vec<String>,
}

impl Comparison {
    /// Findings with this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.findings.iter().filter(|f| f.verdict == verdict).count()
    }

    /// Whether the comparison fails: a significant slowdown (timing), or any difference (exact).
    pub fn failed(&self) -> bool {
        match self.mode {
            Mode::Timing => self.count(Verdict::Slower) > 0,
            Mode::Exact => {
                !self.findings.is_empty()
                    || !self.only_base.is_empty()
                    || !self.only_new.is_empty()
                    || !self.columns_only_base.is_empty()
                    || !self.columns_only_new.is_empty()
            }
        }
    }
}

/// Columns compared as values, given the key: measurements, plus key-role columns left out of a `--key`.
fn compared_columns(header: &[String], key: &[String], opts: &Options) -> Vec<String> {
    header
        .iter()
        .filter(|h| !key.contains(h) && !opts.ignore.contains(h))
        .filter(|h| match role(h) {
            Role::Measurement => true,
            Role::Key => opts.key.is_some(),
            _ => false,
        })
        .cloned()
        .collect()
}

/// Compares `new` against `base`.
pub fn compare(base: &CsvTable, new: &CsvTable, opts: &Options) -> Result<Comparison, CompareError> {
    let key_names: Vec<String> = match &opts.key {
        Some(k) => k.clone(),
        None => columns::default_key(&base.header)
            .into_iter()
            .filter(|c| !opts.ignore.contains(c))
            .collect(),
    };
    let base_key = KeyColumns::locate(base, &key_names)?;
    let new_key = KeyColumns::locate(new, &key_names)?;
    let base_index = index_rows(base, &base_key)?;
    let new_index = index_rows(new, &new_key)?;
    let timed = |t: &CsvTable| {
        t.column(columns::SAMPLES).is_some() || columns::MEASURED_MEDIANS.iter().any(|c| t.column(c).is_some())
    };
    let mode = if !opts.exact && (timed(base) || timed(new)) {
        Mode::Timing
    } else {
        Mode::Exact
    };
    let base_cols = compared_columns(&base.header, &key_names, opts);
    let new_cols = compared_columns(&new.header, &key_names, opts);
    let pairs: Vec<(usize, usize)> = base_cols
        .iter()
        .filter_map(|c| Some((base.column(c)?, new.column(c)?)))
        .collect();
    let (base_timing, new_timing) = (TimingColumns::of(base), TimingColumns::of(new));
    let mut result = Comparison {
        mode,
        key_columns: key_names,
        matched: 0,
        findings: Vec::new(),
        within_tolerance: 0,
        only_base: Vec::new(),
        only_new: Vec::new(),
        columns_only_base: Vec::new(),
        columns_only_new: Vec::new(),
    };
    if mode == Mode::Exact {
        result.columns_only_base = base_cols.iter().filter(|c| !new_cols.contains(c)).cloned().collect();
        result.columns_only_new = new_cols.iter().filter(|c| !base_cols.contains(c)).cloned().collect();
    }
    for (bi, row) in base.rows.iter().enumerate() {
        let k = base_key.values(row);
        let Some(&ni) = new_index.get(&k) else {
            result.only_base.push(k);
            continue;
        };
        result.matched += 1;
        match mode {
            Mode::Timing => {
                result
                    .findings
                    .push(compare_timed((base, base_timing, bi), (new, new_timing, ni), k, opts)?)
            }
            Mode::Exact => {
                let (found, within) = exact::compare_exact((base, bi), (new, ni), &pairs, &k, opts);
                result.findings.extend(found);
                result.within_tolerance += within;
            }
        }
    }
    for row in &new.rows {
        let k = new_key.values(row);
        if !base_index.contains_key(&k) {
            result.only_new.push(k);
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests;
