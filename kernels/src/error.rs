//! The one error type of the kernels crate.

use sparselab_workloads::WorkloadError;
use thiserror::Error;

/// Errors from building masks, parsing methods and running attention.
#[derive(Debug, Error)]
pub enum KernelError {
    /// The method name is not registered.
    #[error("unknown method `{name}`; known methods: {known}")]
    UnknownMethod { name: String, known: String },
    /// A method parameter is unknown, malformed or out of range.
    #[error("method `{method}`: parameter `{param}` {problem}")]
    BadParameter {
        method: String,
        param: String,
        problem: String,
    },
    /// A mask was built with inconsistent contents.
    #[error("invalid {format} mask: {problem}")]
    InvalidMask { format: &'static str, problem: String },
    /// A mask and a workload disagree in shape.
    #[error("mask does not fit the workload: {problem}")]
    MaskMismatch { problem: String },
    /// The workload itself is invalid.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A CUDA library (driver or NVRTC) or device is not present on this machine.
    #[error("{what} not found: {detail}")]
    CudaUnavailable { what: &'static str, detail: String },
    /// A CUDA driver or NVRTC call failed.
    #[error("CUDA call `{call}` failed: {detail}")]
    Cuda { call: String, detail: String },
    /// NVRTC rejected a kernel source; `log` holds the compiler's lines.
    #[error("NVRTC could not compile `{source_name}` with options [{}]:\n{}", options.join(" "), log.join("\n"))]
    Compile {
        source_name: String,
        options: Vec<String>,
        log: Vec<String>,
    },
    /// GPU launch parameters are out of the kernel's supported range.
    #[error("GPU attention: {param} = {value} is not supported; expected {expected}")]
    Unsupported {
        param: &'static str,
        value: String,
        expected: String,
    },
}

/// Result alias for the kernels crate.
pub type Result<T> = std::result::Result<T, KernelError>;

impl KernelError {
    /// Shorthand for [`KernelError::BadParameter`].
    pub fn bad_param(method: &str, param: &str, problem: impl Into<String>) -> Self {
        KernelError::BadParameter {
            method: method.to_string(),
            param: param.to_string(),
            problem: problem.into(),
        }
    }
    /// Shorthand for [`KernelError::InvalidMask`].
    pub fn invalid_mask(format: &'static str, problem: impl Into<String>) -> Self {
        KernelError::InvalidMask {
            format,
            problem: problem.into(),
        }
    }
}
