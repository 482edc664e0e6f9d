//! Speed of each study row, from the row's real mask: predicted by the roofline (a GPU preset and a
//! kernel model), simulated on the accelerator model, and measured on the GPU when one is present.
//!
//! Every speedup is over dense attention of the same workload on the same model (or the same GPU):
//! - roofline: `work_from_mask` counts the mask's executed tiles; the method's estimation FLOPs and
//!   bytes are added as an estimation phase; the dense mask is counted and run the same way;
//! - accelerator: `simulate_attention` cycles of QK^T and PV under the mask over the dense mask's
//!   (estimation not included); skipped above [`ACCEL_MAX_KEY_BLOCKS`];
//! - GPU: median of CUDA-event timings of our kernel for the mask (see [`super::gpu_timing`]).

use anyhow::{Context, Result};
use sparselab_kernels::mask::{DenseMask, Mask, MaskFormat};
use sparselab_kernels::method::EstimationCost;
use sparselab_simulators::accelerator::attention::simulate_attention;
use sparselab_simulators::accelerator::{AcceleratorConfig, Effects, DEFAULT_PRESET};
use sparselab_simulators::roofline::{predict, AttentionShape, EstimationWork, GpuPreset, KernelSpec};
use sparselab_workloads::Workload;

use super::gpu_timing::GpuTimer;
use crate::roofline_work::work_from_mask;

/// Kernel model the study predicts with unless told otherwise: our CUDA kernels, the ones it times.
pub const DEFAULT_KERNEL: &str = "sparselab";

/// Largest mask (heads x 64-row blocks x distinct key counts, see [`accel_size`]) the accelerator
/// model simulates in a study row; larger masks get an empty `accel_speedup`. Keeps the default study
/// (8 heads, up to 8192 tokens) within its time budget on 2 cores.
pub const ACCEL_MAX_KEY_BLOCKS: usize = 1 << 15;

/// The speed figures of one row; `None` where a model was not run (an empty CSV cell).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RowSpeed {
    /// Roofline time of the mask plus estimation, ms.
    pub predicted_ms: Option<f64>,
    /// Roofline dense time over `predicted_ms`.
    pub predicted_speedup: Option<f64>,
    /// Accelerator-model dense cycles over the mask's.
    pub accel_speedup: Option<f64>,
    /// Median GPU kernel time of the mask, ms (kernel only, no index building).
    pub measured_ms: Option<f64>,
    /// Median dense kernel time over `measured_ms`.
    pub measured_speedup: Option<f64>,
}

impl RowSpeed {
    /// The speedup the Pareto marks and charts use: measured where present, else predicted.
    pub fn speedup(&self) -> (Option<f64>, &'static str) {
        match (self.measured_speedup, self.predicted_speedup) {
            (Some(m), _) => (Some(m), "measured"),
            (None, Some(p)) => (Some(p), "predicted"),
            (None, None) => (None, ""),
        }
    }
}

/// Dense figures of the current workload, computed once and reused for every row of it.
#[derive(Debug, Clone, Default)]
struct DenseCache {
    key: Option<(String, usize, usize, bool)>,
    predicted_s: Option<f64>,
    accel_cycles: Option<f64>,
    measured_ms: Option<f64>,
}

/// The speed models of a study: which are on, their presets, and the dense figures of the workload
/// at hand.
pub struct SpeedModels {
    preset: GpuPreset,
    kernel: KernelSpec,
    accelerator: Option<AcceleratorConfig>,
    gpu: Option<GpuTimer>,
    dense: DenseCache,
    /// Notes for the report (a mask without a kernel, a mask too large to simulate), deduplicated.
    pub notes: Vec<String>,
}

impl SpeedModels {
    /// The roofline on `preset` with `kernel`, the accelerator model when `accelerator`, and GPU
    /// timing when `gpu` is given.
    pub fn new(preset: GpuPreset, kernel: &str, accelerator: bool, gpu: Option<GpuTimer>) -> Result<Self> {
        let kernel = KernelSpec::by_name(kernel).context("the roofline kernel model")?;
        let accelerator = if accelerator {
            Some(AcceleratorConfig::preset(DEFAULT_PRESET).context("loading the accelerator preset")?)
        } else {
            None
        };
        Ok(Self {
            preset,
            kernel,
            accelerator,
            gpu,
            dense: DenseCache::default(),
            notes: Vec::new(),
        })
    }

    /// The roofline alone on the built-in H100 preset with [`DEFAULT_KERNEL`] (what `sparselab recall`
    /// reports).
    pub fn roofline_only() -> Result<Self> {
        let preset = GpuPreset::load("h100").context("loading the h100 roofline preset")?;
        Self::new(preset, DEFAULT_KERNEL, false, None)
    }

    /// The roofline's preset name and kernel, e.g. `h100 preset, kernel model sparselab`.
    pub fn describe_roofline(&self) -> String {
        format!("{} preset, kernel model {}", self.preset.name, self.kernel.name)
    }

    /// The GPU that times the kernels, if any.
    pub fn gpu_name(&self) -> Option<&str> {
        self.gpu.as_ref().map(GpuTimer::name)
    }

    fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    /// All speed figures of `mask` (the selection of a method on `workload`, with its estimation cost).
    pub fn row(&mut self, workload: &Workload, mask: &Mask, estimation: &EstimationCost) -> RowSpeed {
        self.prepare(workload, mask);
        let mut speed = RowSpeed::default();
        match self.predict_s(workload, mask, Some(estimation)) {
            Ok(t) => {
                speed.predicted_ms = Some(t * 1e3);
                speed.predicted_speedup = self.dense.predicted_s.map(|d| d / t);
            }
            Err(e) => self.note(format!("roofline: {e:#}")),
        }
        if self.accelerator.is_some() {
            if let (Some(dense), Some(c)) = (
                self.dense.accel_cycles,
                self.accel_cycles(mask, workload.head_dim() as u64),
            ) {
                speed.accel_speedup = Some(dense / c);
            }
        }
        if let Some(dense) = self.dense.measured_ms {
            if let Some(t) = self.measure(workload, mask) {
                speed.measured_ms = Some(t);
                speed.measured_speedup = Some(dense / t);
            }
        }
        speed
    }

    /// Computes the dense figures when `workload` (or the masking) differs from the cached one.
    fn prepare(&mut self, workload: &Workload, mask: &Mask) {
        let key = (
            workload.name.clone(),
            workload.seq_len(),
            workload.heads(),
            mask.causal(),
        );
        if self.dense.key.as_ref() == Some(&key) {
            return;
        }
        let dense = Mask::Dense(DenseMask {
            heads: workload.heads(),
            seq_len: workload.seq_len(),
            causal: mask.causal(),
        });
        self.dense = DenseCache {
            key: Some(key),
            ..DenseCache::default()
        };
        self.dense.predicted_s = self.predict_s(workload, &dense, None).ok();
        self.dense.accel_cycles = if self.accelerator.is_some() {
            self.accel_cycles(&dense, workload.head_dim() as u64)
        } else {
            None
        };
        self.dense.measured_ms = self.measure(workload, &dense);
    }

    fn shape(&self, workload: &Workload, causal: bool) -> AttentionShape {
        AttentionShape {
            seq_len: workload.seq_len() as u64,
            heads: workload.heads() as u64,
            kv_heads: workload.kv_heads() as u64,
            head_dim: workload.head_dim() as u64,
            causal,
            dtype_bytes: 2,
        }
    }

    /// Roofline seconds of `mask`: the tiles `work_from_mask` counts (64x64 for every format but
    /// block-sparse, which runs its block), run by the kernel model, plus the estimation phase. The
    /// dense mask's (the baseline of every row) is counted the same way.
    fn predict_s(&self, workload: &Workload, mask: &Mask, estimation: Option<&EstimationCost>) -> Result<f64> {
        let shape = self.shape(workload, mask.causal());
        let mut work = work_from_mask(mask, shape);
        if let Some(e) = estimation {
            work.estimation = EstimationWork {
                tensor_flops: 0.0,
                vector_flops: e.flops,
                bytes: e.bytes,
                launches: if e.flops > 0.0 || e.bytes > 0.0 { 2 } else { 0 },
            };
        }
        let p = predict(&self.preset, &work, &self.kernel.with_tile(work.tile))?;
        Ok(p.predicted_s)
    }

    /// Accelerator cycles of `mask`, or `None` (with a note) when it is too large or fails.
    fn accel_cycles(&mut self, mask: &Mask, head_dim: u64) -> Option<f64> {
        let config = self.accelerator.as_ref()?;
        let size = accel_size(mask);
        if size > ACCEL_MAX_KEY_BLOCKS {
            self.note(format!(
                "accel_speedup left empty for {} masks of {} tokens x {} heads (size {size} > {ACCEL_MAX_KEY_BLOCKS} \
                 to simulate quickly)",
                mask.format_name(),
                mask.seq_len(),
                mask.heads()
            ));
            return None;
        }
        match simulate_attention(mask, head_dim, config, &Effects::ALL_ON) {
            Ok(run) => Some(run.cycles()),
            Err(e) => {
                self.note(format!("accelerator model: {e}"));
                None
            }
        }
    }

    /// Median GPU time of `mask`, or `None` (with a note) without a GPU or a kernel for it.
    fn measure(&mut self, workload: &Workload, mask: &Mask) -> Option<f64> {
        let gpu = self.gpu.as_mut()?;
        match gpu.median_ms(workload, mask) {
            Ok(t) => Some(t),
            Err(e) => {
                let text = format!("measured_ms left empty for {} masks: {e:#}", mask.format_name());
                self.note(text);
                None
            }
        }
    }
}

/// Work of the accelerator model on `mask`: heads x 64-row blocks for block formats, times the
/// key-list spread for per-query formats (their blocks rarely share a shape, so each is simulated).
pub fn accel_size(mask: &Mask) -> usize {
    let blocks = mask.heads() * mask.seq_len().div_ceil(64);
    match mask {
        Mask::Dense(_) | Mask::Streaming(_) => mask.seq_len().div_ceil(64),
        Mask::BlockSparse(_) | Mask::VerticalSlash(_) => blocks,
        _ => blocks * 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_kernels::mask::BlockSparseMask;
    use sparselab_workloads::synthetic::{generate, SyntheticSpec};

    fn workload(seq_len: usize) -> Workload {
        generate(&SyntheticSpec {
            profile: "mixed".into(),
            seq_len,
            heads: 2,
            kv_heads: 2,
            head_dim: 64,
            seed: 0,
        })
        .unwrap()
    }

    #[test]
    fn dense_is_one_and_a_sparse_block_mask_is_faster() {
        let w = workload(2048);
        let preset = GpuPreset::load("h100").unwrap();
        let mut speed = SpeedModels::new(preset, DEFAULT_KERNEL, true, None).unwrap();
        let none = EstimationCost::default();
        let dense = Mask::Dense(DenseMask {
            heads: 2,
            seq_len: 2048,
            causal: true,
        });
        let d = speed.row(&w, &dense, &none);
        assert_eq!(d.predicted_speedup, Some(1.0));
        assert_eq!(d.accel_speedup, Some(1.0));
        assert_eq!(d.measured_ms, None, "no GPU timer given");
        assert_eq!(d.speedup(), (Some(1.0), "predicted"));
        // Each query block keeps its diagonal block and the first: at most 2 of 32 key blocks.
        let lists = (0..2 * 32).map(|i| {
            let qb = (i % 32) as u32;
            if qb == 0 {
                vec![0]
            } else {
                vec![0, qb]
            }
        });
        let m = Mask::BlockSparse(BlockSparseMask::new(2, 2048, 64, true, lists.collect()).unwrap());
        let s = speed.row(&w, &m, &none);
        assert!(s.predicted_speedup.unwrap() > 2.0, "{s:?}");
        assert!(s.accel_speedup.unwrap() > 2.0, "{s:?}");
        // Estimation is paid: the same mask with a costly estimate predicts slower.
        let costly = EstimationCost {
            flops: 1e10,
            bytes: 1e9,
        };
        let c = speed.row(&w, &m, &costly);
        assert!(c.predicted_ms.unwrap() > s.predicted_ms.unwrap());
    }

    #[test]
    fn masks_too_large_to_simulate_are_left_empty_with_a_note() {
        // 64 heads x 600 blocks of 64 = 38400 > ACCEL_MAX_KEY_BLOCKS: not simulated.
        let (heads, nb) = (64usize, 600usize);
        let lists = (0..heads * nb).map(|i| vec![(i % nb) as u32]).collect();
        let m = Mask::BlockSparse(BlockSparseMask::new(heads, nb * 64, 64, true, lists).unwrap());
        assert!(accel_size(&m) > ACCEL_MAX_KEY_BLOCKS);
        let preset = GpuPreset::load("h100").unwrap();
        let mut speed = SpeedModels::new(preset, DEFAULT_KERNEL, true, None).unwrap();
        assert_eq!(speed.accel_cycles(&m, 64), None);
        assert!(
            speed.notes.iter().any(|n| n.contains("accel_speedup left empty")),
            "{:?}",
            speed.notes
        );
    }

    #[test]
    fn measured_speedup_wins_over_predicted() {
        let s = RowSpeed {
            predicted_speedup: Some(3.0),
            measured_speedup: Some(2.0),
            ..RowSpeed::default()
        };
        assert_eq!(s.speedup(), (Some(2.0), "measured"));
        assert_eq!(RowSpeed::default().speedup(), (None, ""));
    }
}
