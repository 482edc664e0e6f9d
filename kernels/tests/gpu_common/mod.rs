//! What the GPU test files share: the device (or a visible skip) and bf16-exact random workloads.

use sparselab_kernels::cuda::Gpu;
use sparselab_kernels::KernelError;
use sparselab_workloads::{HeadTensor, SeededRng, Workload};

/// The GPU, or None after printing why the test is skipped (no driver or no device); a device
/// that is present but unusable fails the test.
pub fn gpu_or_skip() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(e @ KernelError::CudaUnavailable { .. }) => {
            eprintln!("skipping: no CUDA device ({e})");
            None
        }
        Err(e) => panic!("CUDA present but unusable: {e}"),
    }
}

/// Random normal values rounded to bf16, so the bf16 kernels and the f32/f64 CPU code see the same
/// numbers and the error measured is the kernels' own (a row with one key has lse = its score, which
/// bf16 rounding of Q and K alone moves by ~1e-2).
pub fn bf16_tensor(rng: &mut SeededRng, name: &str, heads: usize, seq: usize, dim: usize, scale: f64) -> HeadTensor {
    let data = (0..heads * seq * dim)
        .map(|_| half::bf16::from_f64(rng.normal() * scale).to_f32())
        .collect();
    HeadTensor::new(name, heads, seq, dim, data).unwrap()
}

/// Q (scale 1.5), K and V (scale 1) of `heads` query and `kv_heads` key/value heads, drawn from
/// stream `stream` of `seed`.
pub fn bf16_workload(seed: u64, stream: u64, heads: usize, kv_heads: usize, seq: usize, dim: usize) -> Workload {
    let mut rng = SeededRng::new(seed, stream);
    let q = bf16_tensor(&mut rng, "q", heads, seq, dim, 1.5);
    let k = bf16_tensor(&mut rng, "k", kv_heads, seq, dim, 1.0);
    let v = bf16_tensor(&mut rng, "v", kv_heads, seq, dim, 1.0);
    Workload::new("gpu-test", seed, q, k, v).unwrap()
}
