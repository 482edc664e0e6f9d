//! `sparselab compare BASE.csv NEW.csv`: catches regressions between two result
//! files. Timing files (a `samples_ms` column) are tested with Welch's t-test and a
//! minimum effect; deterministic outputs are compared exactly.
//!
//! Exit codes (so that CI can tell a regression from a broken input):
//! - 0: no regression;
//! - 1: a significant slowdown or a changed deterministic value (the table says which);
//! - 2: an error: an unreadable or malformed file, a missing key column, a bad option, ...

use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::compare::{compare, report, CsvTable, Options};

/// Exit code when NEW matches BASE.
pub const EXIT_SAME: u8 = 0;
/// Exit code of a significant slowdown or a changed deterministic value.
pub const EXIT_REGRESSION: u8 = 1;
/// Exit code of an error (unreadable or malformed file, missing key, bad option).
pub const EXIT_ERROR: u8 = 2;

/// Arguments of `sparselab compare`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 = no regression; 1 = a significant slowdown or a changed deterministic \
value; 2 = an error (unreadable or malformed file, missing key column, bad option)."
)]
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
    /// Compare every measurement exactly (with --rel-tol) even when the files have time columns but no
    /// samples: for a model's predicted times, e.g. `sparselab roofline`'s `kernel_ms`.
    #[arg(long)]
    pub exact: bool,
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
            exact: self.exact,
        })
    }
}

/// Runs the command and turns the outcome into its exit code: [`EXIT_SAME`], [`EXIT_REGRESSION`]
/// (after the report) or [`EXIT_ERROR`] (after printing the error).
pub fn main(args: &CompareArgs) -> ExitCode {
    match run(args) {
        Ok(Outcome::Same) => ExitCode::from(EXIT_SAME),
        Ok(Outcome::Regression) => ExitCode::from(EXIT_REGRESSION),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// What a comparison found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing changed significantly.
    Same,
    /// A significant slowdown or a changed deterministic value.
    Regression,
}

/// Runs the comparison and prints the report; an error when an input cannot be compared.
pub fn run(args: &CompareArgs) -> Result<Outcome> {
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
        eprintln!(
            "regression: {} differs from {} (see the table above)",
            args.new.display(),
            args.base.display()
        );
        return Ok(Outcome::Regression);
    }
    Ok(Outcome::Same)
}
