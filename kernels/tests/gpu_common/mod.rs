//! What the GPU test files share: the device (or a visible skip) and random workloads exact in
//! the kernels' element type (bf16 or fp16).

use sparselab_kernels::cuda::{ElemType, Gpu};
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

/// Random normal values rounded to `elem`, so the kernels and the f32/f64 CPU code see the same
/// numbers and the error measured is the kernels' own (a row with one key has lse = its score, which
/// bf16 rounding of Q and K alone moves by ~1e-2).
pub fn rounded_tensor(
    rng: &mut SeededRng,
    elem: ElemType,
    name: &str,
    [heads, seq, dim]: [usize; 3],
    scale: f64,
) -> HeadTensor {
    let data = (0..heads * seq * dim)
        .map(|_| elem.to_f32(elem.bits_of((rng.normal() * scale) as f32)))
        .collect();
    HeadTensor::new(name, heads, seq, dim, data).unwrap()
}

/// Q (scale 1.5), K and V (scale 1) of `heads` query and `kv_heads` key/value heads, exact in
/// `elem`, drawn from stream `stream` of `seed`.
pub fn workload_in(
    elem: ElemType,
    seed: u64,
    stream: u64,
    heads: usize,
    kv_heads: usize,
    seq: usize,
    dim: usize,
) -> Workload {
    let mut rng = SeededRng::new(seed, stream);
    let q = rounded_tensor(&mut rng, elem, "q", [heads, seq, dim], 1.5);
    let k = rounded_tensor(&mut rng, elem, "k", [kv_heads, seq, dim], 1.0);
    let v = rounded_tensor(&mut rng, elem, "v", [kv_heads, seq, dim], 1.0);
    Workload::new("gpu-test", seed, q, k, v).unwrap()
}
