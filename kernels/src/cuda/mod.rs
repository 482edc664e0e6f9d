//! GPU attention: CUDA C++ kernels (`kernels/cuda/*.cu`, embedded in the binary)
//! compiled at run time with NVRTC for the device's architecture, cached on disk,
//! and launched through cudarc.
//!
//! Three levels, like cudarc itself:
//! - [`compile`]: NVRTC to a CUBIN, the on-disk cache, resource reports;
//! - [`device`]: [`Gpu`], the device handle (checks that the driver library is
//!   present before the first call, so a machine without CUDA gets an error, not a panic);
//! - [`attention`]: parameter checks, the launch configuration (a pure function) and
//!   the only place that launches attention kernels; [`gpu_attention`] runs a
//!   [`Workload`](sparselab_workloads::Workload) under a [`Mask`](crate::mask::Mask)
//!   and returns the same [`AttentionOutput`](crate::reference::AttentionOutput) as the CPU reference.

pub mod attention;
pub mod compile;
pub mod device;
pub mod sources;

pub use attention::{gpu_attention, plan_launch, AttentionParams, AttentionRun, LaunchPlan, SparseLayout, TileConfig};
pub use compile::{compile_cubin, nvrtc_available, nvrtc_version, Compiled};
pub use device::Gpu;
pub use sources::{KernelSource, SOURCES};
