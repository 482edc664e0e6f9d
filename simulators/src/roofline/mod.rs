//! A roofline model of sparse attention on any GPU: time from FLOPs and bytes on a hardware preset.
//!
//! | module | job |
//! |---|---|
//! | [`hardware`] | GPU presets (TOML: datasheet, per-kernel efficiencies, `[measured]` from `sparselab calibrate`) |
//! | [`scale`] | what-if factors (`bandwidth=2`, `flops=2`, ...) |
//! | [`work`] | the work description: shape, tile, executed tiles and gathered columns per thread block, estimation |
//! | [`families`] | analytic work of dense, A-shape, vertical-slash (local or spread slashes), block-topk |
//! | [`kernels`] | kernel implementations: tile, blocks per SM, per-block overhead (fallback constant) |
//! | [`calibration`] | efficiency and per-block overhead solved from dense timings at two lengths |
//! | [`io`] | FlashAttention-style IO: Q once, K/V per executed tile through L2, HBM reuse, gathered rows |
//! | [`waves`] | wave quantization and the tail effect (longest-first scheduling) |
//! | [`model`] | the prediction: phases, `max(compute, memory)`, launches, `roofline_s` and `predicted_s` |
//! | [`llama`] | MInference's LLaMA-3-8B prefill table (REFERENCE.md §4) predicted, linear layers included |

pub mod calibration;
pub mod families;
pub mod hardware;
pub mod io;
pub mod kernels;
pub mod llama;
pub mod model;
pub mod scale;
pub mod waves;
pub mod work;

pub use calibration::{fit_dense, DenseFit, DenseTiming};
pub use hardware::{Ceilings, GpuPreset, KernelEfficiency, Measured};
pub use kernels::{KernelSpec, LaunchOrder, KERNELS};
pub use model::{predict, predict_with, Bound, Prediction};
pub use scale::{apply_scales, Scale};
pub use work::{AttentionShape, AttentionWork, BlockWork, EstimationWork, TileShape};
