//! The one error type of the workloads crate.

use thiserror::Error;

/// Everything that can go wrong when building, loading or checking a workload.
///
/// Every message names the offending input and the value that was expected, so a
/// user can fix the command line or the file without reading the source.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum WorkloadError {
    /// A tensor's length does not match the shape it claims.
    #[error("tensor `{tensor}` has {actual} elements but shape {shape:?} needs {expected}")]
    LengthMismatch {
        tensor: String,
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    /// Two tensors that must agree in some dimension do not.
    #[error("shape mismatch: {what}")]
    ShapeMismatch { what: String },
    /// A tensor holds NaN or infinity.
    #[error("tensor `{tensor}` holds a non-finite value ({value}) at head {head}, row {row}, column {col}")]
    NonFinite {
        tensor: String,
        head: usize,
        row: usize,
        col: usize,
        value: f32,
    },
    /// A size parameter is zero or otherwise out of range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        name: String,
        value: String,
        reason: String,
    },
    /// The named head profile does not exist.
    #[error("unknown head profile `{name}`; known profiles: {known}")]
    UnknownProfile { name: String, known: String },
    /// Reading or writing a file failed.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Result alias for the workloads crate.
pub type Result<T> = std::result::Result<T, WorkloadError>;

impl WorkloadError {
    /// Shorthand for [`WorkloadError::InvalidParameter`].
    pub fn invalid(name: &str, value: impl ToString, reason: impl Into<String>) -> Self {
        WorkloadError::InvalidParameter {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
