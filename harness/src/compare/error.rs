//! What can go wrong reading and matching result CSVs. Every message names the
//! file (and the line, where there is one) and what was expected instead.

use std::path::PathBuf;

/// Errors of `sparselab compare` and `sparselab merge`.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file has no header line.
    #[error("{path} is empty: expected a CSV header line (e.g. method,params,seq_len,...)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A line is not valid CSV or has the wrong number of fields.
    #[error("{path} line {line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// A key column given with `--key` (or needed by default) is absent.
    #[error("{path} has no column `{column}` (needed in the row key); its columns are: {available}")]
    MissingKeyColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The header, comma-separated.
        available: String,
    },
    /// Two rows of one file (or of the files being merged) have the same key.
    #[error(
        "duplicate key in {path} line {line} ({key}): the same key is at {first}; every row needs a unique key \
         (choose the key columns with --key)"
    )]
    DuplicateKey {
        /// The file of the second occurrence.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The key, `column=value` pairs.
        key: String,
        /// Where the first occurrence is, `file line N`.
        first: String,
    },
    /// A `samples_ms` field is not a `;`-separated list of non-negative numbers.
    #[error(
        "{path} line {line}: samples_ms `{value}` is not a `;`-separated list of non-negative milliseconds ({reason})"
    )]
    BadSamples {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The field as written.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A timed row has neither samples nor a median column.
    #[error("{path} line {line}: a timed row needs samples_ms or one of the columns {expected}, and has neither")]
    NoTiming {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The median columns looked for.
        expected: String,
    },
    /// Files to merge have different headers.
    #[error("{path} has the header `{found}`, but {first_path} has `{expected}`; shards of one run share one header")]
    HeaderMismatch {
        /// The file that differs.
        path: PathBuf,
        /// Its header.
        found: String,
        /// The first file.
        first_path: PathBuf,
        /// The first file's header.
        expected: String,
    },
    /// A value that must be a number is not one.
    #[error("{path} line {line}: column `{column}` must be {expected}, got `{value}`")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// Its line.
        line: u64,
        /// The column.
        column: String,
        /// What was expected.
        expected: String,
        /// The field as written.
        value: String,
    },
}
