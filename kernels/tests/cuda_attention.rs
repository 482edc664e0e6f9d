//! GPU attention kernels against the CPU reference (f64) on fresh random inputs,
//! with outputs poisoned (NaN) before every launch, in bf16 and fp16. Needs a CUDA device; without
//! one each test prints "skipping: no CUDA device (...)" and passes.
//! On a GPU machine: `cargo test -p sparselab-kernels --test cuda_attention -- --nocapture`.

use sparselab_kernels::cuda::{gpu_attention, ElemType, Gpu, TileConfig};
use sparselab_kernels::mask::{BlockSparseMask, DenseMask, Mask, StreamingMask, VerticalSlashMask};
use sparselab_kernels::metrics::output_relative_error;
use sparselab_kernels::reference::{attention, Precision, ReferenceOptions};
use sparselab_workloads::{HeadTensor, SeededRng, Workload};

mod gpu_common;

use gpu_common::{gpu_or_skip, workload_in};

fn workload(seed: u64, heads: usize, kv_heads: usize, seq: usize, dim: usize) -> Workload {
    workload_in(ElemType::Bf16, seed, 7, heads, kv_heads, seq, dim)
}

/// Runs `mask` on the GPU with bf16 inputs and the f64 reference (see [`check_in`]).
fn check(gpu: &Gpu, w: &Workload, mask: &Mask, tile: TileConfig, label: &str) {
    check_in(gpu, w, mask, tile, ElemType::Bf16, label)
}

/// Runs `mask` on the GPU with `elem` inputs (`w` exact in it) and the f64 reference; asserts
/// finite output, relative error < 1e-2, matching lse (both -inf for empty rows) and kept counts.
fn check_in(gpu: &Gpu, w: &Workload, mask: &Mask, tile: TileConfig, elem: ElemType, label: &str) {
    let got = gpu_attention(gpu, w, mask, tile, elem).unwrap_or_else(|e| panic!("{label}: {e}"));
    let opts = ReferenceOptions {
        precision: Precision::F64,
        block_lse: false,
    };
    let want = attention(w, mask, &opts).unwrap();
    assert!(
        got.out.data().iter().all(|x| x.is_finite()),
        "{label}: output has NaN/inf (unwritten?)"
    );
    let err = output_relative_error(&want, &got);
    assert!(err < 1e-2, "{label}: relative error {err:.3e} >= 1e-2");
    let mut worst = 0.0f64;
    for (i, (&g, &r)) in got.lse.iter().zip(&want.lse).enumerate() {
        if r == f64::NEG_INFINITY {
            assert_eq!(g, f64::NEG_INFINITY, "{label}: row {i} kept nothing but lse = {g}");
            let row = &got.out.data()[i * w.head_dim()..(i + 1) * w.head_dim()];
            assert!(row.iter().all(|&x| x == 0.0), "{label}: empty row {i} is not zero");
        } else {
            assert!(g.is_finite(), "{label}: row {i} lse {g}, reference {r}");
            worst = worst.max((g - r).abs() / r.abs().max(1.0));
        }
    }
    assert!(worst < 1e-2, "{label}: lse relative error {worst:.3e}");
    assert_eq!(got.kept, want.kept, "{label}: kept counts differ");
    eprintln!("{label}: output rel err {err:.2e}, lse rel err {worst:.2e}");
}

/// The tiles of `tiles` that run on `gpu` (the wgmma tiles on Hopper only), saying which are skipped.
fn tiles_on(gpu: &Gpu, tiles: &[TileConfig]) -> Vec<TileConfig> {
    let arch = gpu.arch();
    let (run, skip): (Vec<TileConfig>, Vec<TileConfig>) = tiles.iter().partition(|t| t.runs_on(&arch));
    if !skip.is_empty() {
        let labels: Vec<String> = skip.iter().map(|t| t.label()).collect();
        eprintln!("skipping tiles {} on {arch} (wgmma needs sm_90a)", labels.join(", "));
    }
    run
}

#[test]
fn dense_matches_reference() {
    let Some(gpu) = gpu_or_skip() else { return };
    // (heads, kv_heads, seq, dim): multiples of 64 and ragged tails, GQA 1/4/8, D 64/128.
    let shapes = [
        (4, 4, 128, 64),
        (4, 1, 200, 64),
        (8, 2, 257, 128),
        (8, 1, 333, 128),
        (8, 8, 64, 128),
        (2, 2, 1, 64),
        (4, 4, 1000, 128),
    ];
    let mut seed = 1;
    for &(h, kvh, l, d) in &shapes {
        for causal in [false, true] {
            for tile in tiles_on(&gpu, &TileConfig::ALL) {
                seed += 1;
                let w = workload(seed, h, kvh, l, d);
                let mask = Mask::Dense(DenseMask {
                    heads: h,
                    seq_len: l,
                    causal,
                });
                let label = format!("dense h{h} kv{kvh} L{l} D{d} causal={causal} tile={}", tile.label());
                check(&gpu, &w, &mask, tile, &label);
            }
        }
    }
}

/// A random block mask of roughly `density`, with every fourth query block empty.
fn random_block_mask(seed: u64, heads: usize, seq: usize, block: usize, causal: bool, density: f64) -> Mask {
    let mut rng = SeededRng::new(seed, 11);
    let nb = seq.div_ceil(block);
    let mut lists = Vec::with_capacity(heads * nb);
    for _h in 0..heads {
        for qb in 0..nb {
            let limit = if causal { qb + 1 } else { nb };
            let list: Vec<u32> = if qb % 4 == 3 {
                Vec::new()
            } else {
                (0..limit as u32).filter(|_| rng.uniform() < density).collect()
            };
            lists.push(list);
        }
    }
    Mask::BlockSparse(BlockSparseMask::new(heads, seq, block, causal, lists).unwrap())
}

#[test]
fn block_sparse_matches_reference() {
    let Some(gpu) = gpu_or_skip() else { return };
    let shapes = [(4, 1, 300, 64), (8, 2, 512, 128), (4, 4, 777, 128)];
    let mut seed = 100;
    for &(h, kvh, l, d) in &shapes {
        for block in [64, 128] {
            for causal in [false, true] {
                for (density, tile) in [
                    (0.1, TileConfig::W4),
                    (0.5, TileConfig::W8),
                    (1.0, TileConfig::W4M2),
                    (0.3, TileConfig::W2M2),
                    (0.2, TileConfig::G1),
                    (0.7, TileConfig::G2),
                    (0.01, TileConfig::G1),
                    (0.4, TileConfig::G2K),
                    (0.05, TileConfig::G2K),
                    (0.3, TileConfig::G2W),
                    (0.02, TileConfig::G2W),
                ] {
                    if tiles_on(&gpu, &[tile]).is_empty() {
                        continue;
                    }
                    seed += 1;
                    let w = workload(seed, h, kvh, l, d);
                    let mask = random_block_mask(seed, h, l, block, causal, density);
                    let label = format!(
                        "bsr h{h} kv{kvh} L{l} D{d} block{block} causal={causal} density={density} tile={}",
                        tile.label()
                    );
                    // A tile whose rows differ from the block falls back to TileConfig::like_for_rows.
                    check(&gpu, &w, &mask, tile, &label);
                }
            }
        }
    }
}

/// Random vertical columns and slash offsets per head: `nv` columns and `ns` offsets
/// drawn uniformly below `seq` (duplicates merge), the main diagonal included only
/// when `with_diagonal` (without it, rows before the smallest offset and column can
/// keep nothing: empty rows).
fn random_vs_mask(seed: u64, heads: usize, seq: usize, nv: usize, ns: usize, with_diagonal: bool) -> Mask {
    let mut rng = SeededRng::new(seed, 13);
    let mut draw = |n: usize| -> Vec<u32> { (0..n).map(|_| (rng.uniform() * seq as f64) as u32).collect() };
    let verticals: Vec<Vec<u32>> = (0..heads).map(|_| draw(nv)).collect();
    let slashes: Vec<Vec<u32>> = (0..heads)
        .map(|_| {
            let mut s = draw(ns);
            if with_diagonal {
                s.push(0);
            }
            s
        })
        .collect();
    Mask::VerticalSlash(VerticalSlashMask::new(heads, seq, verticals, slashes).unwrap())
}

#[test]
fn vertical_slash_matches_reference() {
    let Some(gpu) = gpu_or_skip() else { return };
    // (heads, kv_heads, seq, dim): multiples of 64 and ragged tails, GQA 1/4/8, D 64/128.
    let shapes = [
        (4, 4, 128, 64),
        (4, 1, 200, 64),
        (8, 2, 257, 128),
        (8, 1, 333, 128),
        (2, 2, 1, 64),
        (4, 4, 1000, 128),
    ];
    let mut seed = 300;
    for &(h, kvh, l, d) in &shapes {
        // (verticals, slashes, main diagonal): sparse with empty rows, medium, nearly dense.
        for (nv, ns, diag) in [(3, 2, false), (20, 10, true), (l / 2 + 1, l / 2 + 1, true)] {
            seed += 1;
            let w = workload(seed, h, kvh, l, d);
            let mask = random_vs_mask(seed, h, l, nv, ns, diag);
            for tile in tiles_on(&gpu, &[TileConfig::W4, TileConfig::W2M2, TileConfig::G1]) {
                let label = format!(
                    "vs h{h} kv{kvh} L{l} D{d} v{nv} s{ns} diag={diag} density={:.3} tile={}",
                    mask.density(),
                    tile.label()
                );
                check(&gpu, &w, &mask, tile, &label);
            }
        }
    }
}

#[test]
fn streaming_matches_reference() {
    let Some(gpu) = gpu_or_skip() else { return };
    let shapes = [(4, 4, 128, 64), (4, 1, 300, 64), (8, 2, 257, 128), (8, 1, 777, 128)];
    let mut seed = 500;
    for &(h, kvh, l, d) in &shapes {
        for (sink, window) in [(0, 1), (4, 16), (64, 64), (100, 130), (1, l)] {
            for tile in tiles_on(&gpu, &[TileConfig::W4, TileConfig::W8, TileConfig::G1, TileConfig::G2]) {
                seed += 1;
                let w = workload(seed, h, kvh, l, d);
                let mask = Mask::Streaming(StreamingMask::new(h, l, sink, window).unwrap());
                let label = format!(
                    "streaming h{h} kv{kvh} L{l} D{d} sink{sink} window{window} tile={}",
                    tile.label()
                );
                check(&gpu, &w, &mask, tile, &label);
            }
        }
    }
}

#[test]
fn unsupported_head_dim_is_an_error() {
    let Some(gpu) = gpu_or_skip() else { return };
    let w = workload(5, 2, 2, 64, 32);
    let mask = Mask::Dense(DenseMask {
        heads: 2,
        seq_len: 64,
        causal: false,
    });
    let e = gpu_attention(&gpu, &w, &mask, TileConfig::W4, ElemType::Bf16)
        .unwrap_err()
        .to_string();
    assert!(e.contains("head_dim = 32"), "{e}");
}

#[test]
fn wgmma_tiles_off_hopper_are_an_error() {
    let Some(gpu) = gpu_or_skip() else { return };
    if gpu.arch() == "sm_90a" {
        eprintln!("skipping: {} runs the wgmma tiles", gpu.name());
        return;
    }
    let w = workload(6, 2, 2, 64, 64);
    let mask = Mask::Dense(DenseMask {
        heads: 2,
        seq_len: 64,
        causal: false,
    });
    let e = gpu_attention(&gpu, &w, &mask, TileConfig::G1, ElemType::Bf16)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Hopper"), "{e}");
}

/// Every kernel (dense, block-sparse, vertical-slash, streaming) and every tile with fp16
/// inputs: the same checks as bf16 on a smaller set of shapes (ragged lengths, GQA, D 64/128).
#[test]
fn fp16_matches_reference() {
    let Some(gpu) = gpu_or_skip() else { return };
    let f16 = ElemType::F16;
    let shapes = [(4, 1, 200, 64), (8, 2, 257, 128), (4, 4, 640, 128)];
    let mut seed = 900;
    for &(h, kvh, l, d) in &shapes {
        for causal in [false, true] {
            for tile in tiles_on(&gpu, &TileConfig::ALL) {
                seed += 1;
                let w = workload_in(f16, seed, 7, h, kvh, l, d);
                let mask = Mask::Dense(DenseMask {
                    heads: h,
                    seq_len: l,
                    causal,
                });
                let label = format!(
                    "fp16 dense h{h} kv{kvh} L{l} D{d} causal={causal} tile={}",
                    tile.label()
                );
                check_in(&gpu, &w, &mask, tile, f16, &label);
                let block = tile.rows();
                let mask = random_block_mask(seed, h, l, block, causal, 0.3);
                let label = format!(
                    "fp16 bsr h{h} L{l} D{d} block{block} causal={causal} tile={}",
                    tile.label()
                );
                check_in(&gpu, &w, &mask, tile, f16, &label);
                if causal {
                    let mask = random_vs_mask(seed, h, l, 20, 10, true);
                    let label = format!("fp16 vs h{h} L{l} D{d} tile={}", tile.label());
                    check_in(&gpu, &w, &mask, tile, f16, &label);
                    let mask = Mask::Streaming(StreamingMask::new(h, l, 4, 100).unwrap());
                    let label = format!("fp16 streaming h{h} L{l} D{d} tile={}", tile.label());
                    check_in(&gpu, &w, &mask, tile, f16, &label);
                }
            }
        }
    }
}

/// fp16 holds magnitudes up to 65504: a larger input is an error naming the tensor and
/// the element, not inf/NaN outputs.
#[test]
fn fp16_out_of_range_input_is_an_error() {
    let Some(gpu) = gpu_or_skip() else { return };
    let mut w = workload_in(ElemType::F16, 8, 7, 2, 2, 64, 64);
    let mut k = w.k().data().to_vec();
    k[100] = 1.0e5;
    w = Workload::new(
        "gpu-test",
        8,
        w.q().clone(),
        HeadTensor::new("k", 2, 64, 64, k).unwrap(),
        w.v().clone(),
    )
    .unwrap();
    let mask = Mask::Dense(DenseMask {
        heads: 2,
        seq_len: 64,
        causal: false,
    });
    let e = gpu_attention(&gpu, &w, &mask, TileConfig::W4, ElemType::F16)
        .unwrap_err()
        .to_string();
    assert!(e.contains("k[100] = 100000") && e.contains("65504"), "{e}");
    // bf16 holds it.
    assert!(gpu_attention(&gpu, &w, &mask, TileConfig::W4, ElemType::Bf16).is_ok());
}
