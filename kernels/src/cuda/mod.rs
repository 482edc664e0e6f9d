//! GPU attention: CUDA C++ kernels (`kernels/cuda/*.cu`, embedded in the binary)
//! compiled at run time with NVRTC for the device's architecture, cached on disk,
//! and launched through cudarc.
//!
//! Three levels, like cudarc itself:
//! - [`compile`]: NVRTC to a CUBIN, the on-disk cache, resource reports;
//! - [`elem`]: [`ElemType`], bf16 or fp16 inputs (a module per type);
//! - [`device`]: [`Gpu`], the device handle (checks that the driver library is
//!   present before the first call, so a machine without CUDA gets an error, not a panic);
//! - [`attention`]: parameter checks, the launch configuration (a pure function) and
//!   the run of every attention kernel; [`gpu_attention`] runs a
//!   [`Workload`](sparselab_workloads::Workload) under a [`Mask`](crate::mask::Mask)
//!   and returns the same [`AttentionOutput`](crate::reference::AttentionOutput) as the CPU reference;
//! - [`tma`]: the TMA descriptors of the persistent kernels;
//! - [`vertical_slash`], [`streaming`]: the launch plans and mask arguments of those kernels;
//! - [`index`]: index building on the GPU (vertical-slash estimate and conversion,
//!   pooled block top-k), timed apart from attention.

pub mod attention;
pub mod compile;
pub mod device;
pub mod elem;
pub mod index;
pub mod sources;
pub mod streaming;
pub mod tma;
pub mod vertical_slash;

pub use attention::{
    gpu_attention, plan_launch, AttentionParams, AttentionRun, BlockCsrArgs, LaunchPlan, MaskArgs, SparseLayout,
    TileConfig,
};
pub use compile::{compile_cubin, nvrtc_available, nvrtc_version, Compiled};
pub use device::Gpu;
pub use elem::ElemType;
pub use index::{BlockTopKBuilder, VsIndexBuilder};
pub use sources::{KernelSource, SOURCES};
