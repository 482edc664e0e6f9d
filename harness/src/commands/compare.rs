//! `sparselab compare BASE.csv NEW.csv`: catches regressions between two result
//! files. Timing files (a `samples_ms` column) are tested with Welch's t-test and a
//! minimum effect; deterministic outputs are compared exactly. Exits with 1 on a
//! significant slowdown or a changed deterministic value.

use anyhow::{bail, Result};
use std::path::PathBuf;

use crate::compare::{compare, report, CsvTable, Options};

/// Arguments of `sparselab compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The reference CSV (e.g. a committed baseline).
    pub base: PathBuf,
    /// The CSV to check against it.
    pub new: PathBuf,
    /// Significance level of the t-test on timing samples.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Smallest relative change of the median that counts as a slowdown (0.05 = 5%).
    #[arg(long, default_value_t = 0.05)]
    pub min_effect: f64,
    /// Relative tolerance of deterministic values (0: written identically).
    #[arg(long, default_value_t = 0.0)]
    pub rel_tol: f64,
    /// Key columns, comma-separated; default: every column that is not a measurement, samples,
    /// provenance (git_commit, date, ...) or wall-time column (see `compare::columns`).
    #[arg(long, value_delimiter = ',')]
    pub key: Option<Vec<String>>,
    /// Columns to leave out of both the key and the comparison, comma-separated (e.g. `device` to compare
    /// CPU results from machines with different thread counts).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
}

impl CompareArgs {
    fn options(&self) -> Result<Options> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!("--alpha must be in (0, 1), got {}", self.alpha);
        }
        if !(self.min_effect >= 0.0 && self.min_effect.is_finite()) {
            bail!(
                "--min-effect must be a fraction >= 0 (0.05 = 5%), got {}",
                self.min_effect
            );
        }
        if !(self.rel_tol >= 0.0 && self.rel_tol.is_finite()) {
            bail!("--rel-tol must be >= 0, got {}", self.rel_tol);
        }
        if let Some(key) = &self.key {
            if key.is_empty() || key.iter().any(|k| k.trim().is_empty()) {
                bail!("--key needs column names separated by commas, e.g. method,params,seq_len");
            }
        }
        Ok(Options {
            alpha: self.alpha,
            min_effect: self.min_effect,
            rel_tol: self.rel_tol,
            key: self.key.clone(),
            ignore: self.ignore.clone(),
        })
    }
}

/// Runs the comparison, prints the report; an error (exit 1) when it fails.
pub fn run(args: &CompareArgs) -> Result<()> {
    let opts = args.options()?;
    let base = CsvTable::read(&args.base)?;
    let new = CsvTable::read(&args.new)?;
    let result = compare(&base, &new, &opts)?;
    print!(
        "{}",
        report::render(
            &result,
            &opts,
            &args.base.display().to_string(),
            &args.new.display().to_string()
        )
    );
    if result.failed() {
        bail!(
            "{} differs from {} (see the table above)",
            args.new.display(),
            args.base.display()
        );
    }
    Ok(())
}
