//! GPU index building against the CPU methods on fresh random inputs (rounded to
//! the element type first, bf16 and fp16, so both sides score the same numbers): vertical-slash's selected
//! columns and diagonals and their conversion to the kernel format, and block top-k's
//! selected blocks; then attention over the GPU-built index against the reference.
//! Scores are fp32 on both sides but summed in different orders, so two entries whose
//! scores tie within 1e-5 (relative, against an f64 recomputation) may swap between
//! the selections; any other difference fails. Without a CUDA device each test prints
//! "skipping: ..." and passes.
//! On a GPU machine: `cargo test -p sparselab-kernels --test cuda_index -- --nocapture`.

use sparselab_kernels::cuda::vertical_slash::{vs_host_index, vs_run_with_index};
use sparselab_kernels::cuda::{AttentionParams, BlockTopKBuilder, ElemType, TileConfig, VsIndexBuilder};
use sparselab_kernels::mask::{Mask, VerticalSlashMask};
use sparselab_kernels::method::{BlockTopK, Method, SelectionContext, VerticalSlash};
use sparselab_kernels::metrics::output_relative_error;
use sparselab_kernels::reference::{attention, Precision, ReferenceOptions};
use sparselab_workloads::{HeadTensor, Workload};
use std::collections::BTreeSet;

mod gpu_common;

use gpu_common::{gpu_or_skip, workload_in};

fn workload(elem: ElemType, seed: u64, heads: usize, kv_heads: usize, seq: usize, dim: usize) -> Workload {
    workload_in(elem, seed, 17, heads, kv_heads, seq, dim)
}

fn params(w: &Workload, causal: bool, elem: ElemType) -> AttentionParams {
    AttentionParams {
        heads: w.heads(),
        kv_heads: w.kv_heads(),
        seq_len: w.seq_len(),
        head_dim: w.head_dim(),
        causal,
        tile: TileConfig::W4,
        elem,
    }
}

/// Every case in bf16, then the first two again in fp16: (seed offset, case, type); the fp16
/// runs get seed offsets 50 and 51, so their inputs differ from the bf16 runs'.
fn bf16_then_fp16<C>(cases: &[C]) -> impl Iterator<Item = (usize, &C, ElemType)> {
    cases.iter().enumerate().flat_map(|(i, c)| {
        let fp16 = (i < 2).then_some((i + 50, c, ElemType::F16));
        std::iter::once((i, c, ElemType::Bf16)).chain(fp16)
    })
}

/// `x` as bit patterns of `elem` (exact: the workloads are rounded to it).
fn bits(elem: ElemType, x: &[f32]) -> Vec<u16> {
    elem.to_bits("test input", x).unwrap()
}

/// Asserts that `got` and `want` (sorted index lists of one selection) hold the same
/// number of entries and differ only by entries whose scores tie within 1e-5.
fn assert_same_selection(got: &[u32], want: &[u32], score: &dyn Fn(u32) -> f64, label: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{label}: selected {} entries, CPU {}",
        got.len(),
        want.len()
    );
    let g: BTreeSet<u32> = got.iter().copied().collect();
    let c: BTreeSet<u32> = want.iter().copied().collect();
    assert_eq!(g.len(), got.len(), "{label}: duplicate entries {got:?}");
    let only_gpu: Vec<u32> = g.difference(&c).copied().collect();
    let only_cpu: Vec<u32> = c.difference(&g).copied().collect();
    for &x in &only_gpu {
        for &y in &only_cpu {
            let (sx, sy) = (score(x), score(y));
            let tol = 1e-5 * sx.abs().max(sy.abs()).max(1e-3);
            assert!(
                (sx - sy).abs() <= tol,
                "{label}: GPU took {x} (score {sx:.9}) where the CPU took {y} (score {sy:.9})"
            );
        }
    }
    if !only_gpu.is_empty() {
        eprintln!("{label}: {} near-tied entries swapped", only_gpu.len());
    }
}

/// f64 column and diagonal scores of head `h`, as the vertical-slash method defines them.
fn vs_scores_f64(w: &Workload, h: usize) -> (Vec<f64>, Vec<f64>) {
    let (l, d) = (w.seq_len(), w.head_dim());
    let last = l.min(64);
    let (q, k) = (w.q().head(h), w.k().head(w.kv_head_of(h)));
    let scale = 1.0 / (d as f64).sqrt();
    let (mut vert, mut slash) = (vec![0.0; l], vec![0.0; l]);
    for qi in l - last..l {
        let s: Vec<f64> = (0..=qi)
            .map(|ki| (0..d).map(|j| q[qi * d + j] as f64 * k[ki * d + j] as f64).sum::<f64>() * scale)
            .collect();
        let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
        for (ki, x) in s.iter().enumerate() {
            let p = (x - m).exp() / z;
            vert[ki] += p;
            slash[qi - ki] += p;
        }
    }
    (vert, slash)
}

#[test]
fn vertical_slash_index_matches_the_cpu_method() {
    let Some(gpu) = gpu_or_skip() else { return };
    // (heads, kv_heads, seq, dim, v, s): ragged and whole lengths, GQA 1/4/8, D 64/128,
    // budgets below, around and above the forced 30 columns / 100 diagonals.
    let cases = [
        (4, 4, 300, 64, 30, 50),
        (4, 1, 1000, 128, 100, 150),
        (8, 2, 777, 64, 200, 300),
        (8, 1, 1100, 128, 60, 400),
        (2, 2, 40, 64, 30, 40),
    ];
    for (i, &(h, kvh, l, d, v, s), elem) in bf16_then_fp16(&cases) {
        let w = workload(elem, 700 + i as u64, h, kvh, l, d);
        let method = VerticalSlash::new(v, s).unwrap();
        let ctx = SelectionContext {
            workload: &w,
            causal: true,
            dense: None,
        };
        let Mask::VerticalSlash(cpu) = method.select(&ctx).unwrap().mask else {
            panic!("vertical-slash returned another format")
        };
        let (nv, ns) = method.effective_budgets(l).unwrap();
        let p = params(&w, true, elem);
        let (q, k, vv) = (
            bits(elem, w.q().data()),
            bits(elem, w.k().data()),
            bits(elem, w.v().data()),
        );
        let mut b = VsIndexBuilder::new(&gpu, &p, &q, &k, nv, ns).unwrap();
        b.build().unwrap();
        let (gv, gs) = b.selection().unwrap();
        for hh in 0..h {
            let (vert, slash) = vs_scores_f64(&w, hh);
            let forced = |x: u32, n: usize, s: &[f64]| if (x as usize) < n { f64::INFINITY } else { s[x as usize] };
            let label = format!("vs {elem} h{h} kv{kvh} L{l} D{d} v{v} s{s} head {hh}");
            assert_same_selection(
                &gv[hh],
                cpu.verticals(hh),
                &|x| forced(x, 30, &vert),
                &format!("{label} columns"),
            );
            assert_same_selection(
                &gs[hh],
                cpu.slashes(hh),
                &|x| forced(x, 100, &slash),
                &format!("{label} diagonals"),
            );
            let gpu_scores = b.scores(hh, 0).unwrap();
            let worst = gpu_scores
                .iter()
                .zip(&vert)
                .map(|(&g, &r)| (g as f64 - r).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-4, "{label}: column scores differ by {worst:.2e}");
        }
        // The conversion on the GPU equals the CPU's on the GPU's selection.
        let from_gpu_lines = VerticalSlashMask::new(h, l, gv, gs).unwrap();
        let want = vs_host_index(&from_gpu_lines).unwrap();
        let got = b.index().download(&gpu).unwrap();
        assert_eq!(
            got, want,
            "vs {elem} h{h} L{l}: GPU conversion differs from VerticalSlashMask::new"
        );
        // Attention over the GPU-built index against the f64 reference.
        let mut run = vs_run_with_index(&gpu, p, &q, &k, &vv, b.into_index()).unwrap();
        run.poison_outputs().unwrap();
        run.launch().unwrap();
        let (out, lse) = run.read().unwrap();
        let out = HeadTensor::new("gpu", h, l, d, out).unwrap();
        let reference = attention(
            &w,
            &Mask::VerticalSlash(from_gpu_lines),
            &ReferenceOptions {
                precision: Precision::F64,
                block_lse: false,
            },
        )
        .unwrap();
        assert!(
            out.data().iter().all(|x| x.is_finite()),
            "vs {elem} L{l}: unwritten output"
        );
        let got = sparselab_kernels::reference::AttentionOutput {
            out,
            lse: lse.into_iter().map(f64::from).collect(),
            kept: reference.kept.clone(),
            block_lse: None,
        };
        let err = output_relative_error(&reference, &got);
        assert!(
            err < 1e-2,
            "vs {elem} L{l}: attention over the GPU index, relative error {err:.2e}"
        );
        eprintln!(
            "vs {elem} h{h} kv{kvh} L{l} D{d} v{v} s{s}: selection and conversion match, attention rel err {err:.2e}"
        );
    }
}

#[test]
fn block_topk_index_matches_the_cpu_method() {
    let Some(gpu) = gpu_or_skip() else { return };
    // (heads, kv_heads, seq, dim, k, block, causal)
    let cases = [
        (4, 4, 1000, 64, 5, 64, true),
        (4, 1, 1000, 128, 3, 128, false),
        (8, 2, 4500, 128, 20, 64, true),
        (8, 8, 300, 64, 3, 64, true),
        (2, 2, 5000, 64, 7, 128, true),
    ];
    for (i, &(h, kvh, l, d, kb, block, causal), elem) in bf16_then_fp16(&cases) {
        let w = workload(elem, 800 + i as u64, h, kvh, l, d);
        let method = BlockTopK::new(kb, block).unwrap();
        let ctx = SelectionContext {
            workload: &w,
            causal,
            dense: None,
        };
        let Mask::BlockSparse(cpu) = method.select(&ctx).unwrap().mask else {
            panic!("block-topk returned another format")
        };
        let (k_eff, _) = method.budget_on(l).unwrap();
        let p = params(&w, causal, elem);
        let (q, k) = (bits(elem, w.q().data()), bits(elem, w.k().data()));
        let mut b = BlockTopKBuilder::new(&gpu, &p, &q, &k, k_eff, block).unwrap();
        b.build().unwrap();
        let got = b.selection().unwrap();
        let nb = l.div_ceil(block);
        let pool = |x: &[f32], blk: usize| -> Vec<f64> {
            let (r0, r1) = (blk * block, ((blk + 1) * block).min(l));
            (0..d)
                .map(|j| (r0..r1).map(|r| x[r * d + j] as f64).sum::<f64>() / (r1 - r0) as f64)
                .collect()
        };
        for hh in 0..h {
            let kp: Vec<Vec<f64>> = (0..nb).map(|kb| pool(w.k().head(w.kv_head_of(hh)), kb)).collect();
            for qb in 0..nb {
                let qp = pool(w.q().head(hh), qb);
                let score = |kb: u32| qp.iter().zip(&kp[kb as usize]).map(|(a, b)| a * b).sum::<f64>();
                let label =
                    format!("block-topk {elem} h{h} L{l} D{d} k{kb} block{block} causal={causal} head {hh} qb {qb}");
                assert_same_selection(&got[hh * nb + qb], cpu.key_blocks(hh, qb), &score, &label);
            }
        }
        eprintln!("block-topk {elem} h{h} kv{kvh} L{l} D{d} k{kb} block{block} causal={causal}: selections match");
    }
}
