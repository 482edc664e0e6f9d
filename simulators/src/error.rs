//! The one error type of the simulators crate.

use thiserror::Error;

/// Errors from loading accelerator presets, describing workloads and running the models.
#[derive(Debug, Error)]
pub enum SimulatorError {
    /// A configuration field holds a value outside its allowed range.
    #[error("{source_name}: `{field}` = {value} is invalid: {expected}")]
    BadConfig {
        /// Where the configuration came from (a preset name or a file path).
        source_name: String,
        /// The dotted field name, e.g. `array.rows`.
        field: String,
        /// The offending value as written.
        value: String,
        /// What would have been accepted, and how to fix it.
        expected: String,
    },
    /// A TOML file could not be parsed (unknown field, wrong type, syntax).
    #[error("{source_name}: {message}")]
    ParseConfig {
        /// Where the configuration came from.
        source_name: String,
        /// The parser's message, which names the field and line.
        message: String,
    },
    /// A preset name is neither built in nor a readable file.
    #[error("unknown preset `{name}`: not a built-in preset ({known}) and not a readable TOML file ({problem})")]
    UnknownPreset {
        /// What the user asked for.
        name: String,
        /// The built-in preset names.
        known: String,
        /// Why it could not be read as a file.
        problem: String,
    },
    /// An N:M ratio is malformed or out of range.
    #[error("N:M ratio `{text}` is invalid: {expected}")]
    BadRatio {
        /// The ratio as written.
        text: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A model name is not in the layer-list library.
    #[error("unknown model `{name}`; known models: {known}")]
    UnknownModel {
        /// What the user asked for.
        name: String,
        /// The model names that exist.
        known: String,
    },
    /// A workload parameter (batch, sequence length, GEMM dimension) is out of range.
    #[error("`{field}` = {value} is invalid: {expected}")]
    BadWorkload {
        /// The parameter name.
        field: String,
        /// The offending value.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// One tile of a GEMM does not fit the configured on-chip buffers.
    #[error(
        "{buffer} holds {available_bytes} bytes but one {what} needs {needed_bytes} bytes{double}; raise `{buffer}`",
        double = if *double_buffered { " (double-buffered)" } else { "" }
    )]
    BufferTooSmall {
        /// The buffer's configuration field, e.g. `memory.filter_kib`.
        buffer: &'static str,
        /// What could not be placed, e.g. "64x32 weight tile".
        what: String,
        /// Bytes the smallest tile needs.
        needed_bytes: u64,
        /// Bytes the buffer offers.
        available_bytes: u64,
        /// Whether the requirement counts two copies.
        double_buffered: bool,
    },
}

/// Result alias for the simulators crate.
pub type Result<T> = std::result::Result<T, SimulatorError>;

impl SimulatorError {
    /// Shorthand for [`SimulatorError::BadConfig`].
    pub fn bad_config(source_name: &str, field: &str, value: impl ToString, expected: impl Into<String>) -> Self {
        SimulatorError::BadConfig {
            source_name: source_name.to_string(),
            field: field.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// Shorthand for [`SimulatorError::BadWorkload`].
    pub fn bad_workload(field: &str, value: impl ToString, expected: impl Into<String>) -> Self {
        SimulatorError::BadWorkload {
            field: field.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
