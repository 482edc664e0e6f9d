//! Joins methods to the roofline model: a method spec (`vertical-slash:v=1000,s=6096`) becomes the
//! plain work description of `sparselab_simulators::roofline`, either analytically (any length,
//! 1M tokens in milliseconds) or measured from the method's real selection on a synthetic workload
//! (`--from-workload`, up to [`FROM_WORKLOAD_MAX_SEQ`] tokens).

use anyhow::{bail, Context, Result};
use sparselab_kernels::mask::{KeyPlan, Mask, MaskFormat, REFERENCE_TILE};
use sparselab_kernels::method::{parse_method, MethodSpec, Params, SelectionContext};
use sparselab_simulators::roofline::{
    families, AttentionShape, AttentionWork, BlockWork, EstimationWork, KernelSpec, TileShape,
};
use sparselab_workloads::synthetic::{generate, SyntheticSpec};

/// Longest sequence `--from-workload` accepts (selection runs on the CPU).
pub const FROM_WORKLOAD_MAX_SEQ: u64 = 32_768;

/// Method families with an analytic work description.
pub const ANALYTIC_FAMILIES: [&str; 4] = ["dense", "a-shape", "vertical-slash", "block-topk"];

/// A method's work on one shape, ready for [`sparselab_simulators::roofline::predict`].
#[derive(Debug, Clone)]
pub struct MethodWork {
    /// Method name.
    pub method: String,
    /// Parameters the work was built with, e.g. `v=1000,s=6096,spread=0`.
    pub params: String,
    /// The kernel that runs it (its tile is the work's).
    pub kernel: KernelSpec,
    /// The work description.
    pub work: AttentionWork,
    /// `analytic` or `workload:<profile>,seed=<seed>`.
    pub source: String,
}

impl MethodWork {
    /// Dense attention on the same shape, run by the same kernel (the speedup's baseline).
    pub fn dense_baseline(&self) -> AttentionWork {
        AttentionWork::dense(self.work.shape, self.work.tile)
    }
}

/// The kernel a method runs on unless `--kernel` says otherwise: FlashAttention-2 for dense,
/// MInference's kernels for the sparse families.
pub fn default_kernel(method: &str) -> &'static str {
    if method == "dense" {
        "fa2"
    } else {
        "minference"
    }
}

fn kernel_for(method: &str, kernel: Option<&str>) -> Result<KernelSpec> {
    Ok(KernelSpec::by_name(kernel.unwrap_or(default_kernel(method)))?)
}

/// The analytic work of `spec` on `shape`. Budgets above the sequence are capped to it (as the
/// methods cap their defaults). `vertical-slash` takes `spread` (share of slashes away from the
/// diagonal, default 0: MInference's local pattern).
pub fn analytic(spec: &str, shape: AttentionShape, kernel: Option<&str>) -> Result<MethodWork> {
    let parsed = MethodSpec::parse(spec)?;
    let mut p = Params::new(&parsed);
    let name = parsed.name.as_str();
    let k = kernel_for(name, kernel)?;
    let l = shape.seq_len as usize;
    let (params, work) = match name {
        "dense" => {
            p.finish(&[])?;
            (String::new(), families::dense(shape, k.tile)?)
        }
        "a-shape" => {
            let sink = p.usize_or("sink", 128)?.min(l) as u64;
            let local = p.usize_or("local", 3968)?.min(l) as u64;
            p.finish(&["sink", "local"])?;
            (format!("sink={sink},local={local}"), families::a_shape(shape, k.tile, sink, local)?)
        }
        "vertical-slash" => {
            let v = p.usize_or("v", 1000)?.min(l) as u64;
            let s = p.usize_or("s", 6096)?.min(l) as u64;
            let spread = p.f64_in("spread", 0.0, 0.0, 1.0)?;
            p.finish(&["v", "s", "spread"])?;
            (
                format!("v={v},s={s},spread={spread}"),
                families::vertical_slash(shape, k.tile, v, s, spread)?,
            )
        }
        "block-topk" => {
            let block = p.usize_or("block", 64)? as u64;
            let kb = p.usize_or("k", 100)? as u64;
            p.finish(&["k", "block"])?;
            (format!("k={kb},block={block}"), families::block_topk(shape, kb, block)?)
        }
        other => bail!(
            "no analytic model for method `{other}`; analytic families: {}; use --from-workload (up to {} tokens) for the others",
            ANALYTIC_FAMILIES.join(", "),
            FROM_WORKLOAD_MAX_SEQ
        ),
    };
    Ok(MethodWork {
        method: name.to_string(),
        params,
        kernel: k.with_tile(work.tile),
        work,
        source: "analytic".into(),
    })
}

/// The work of `spec` measured from its real selection on a synthetic workload of `profile`.
/// Oracle methods (which need the dense pass) are not supported here.
pub fn from_workload(
    spec: &str,
    shape: AttentionShape,
    kernel: Option<&str>,
    profile: &str,
    seed: u64,
) -> Result<MethodWork> {
    if shape.seq_len > FROM_WORKLOAD_MAX_SEQ {
        bail!(
            "--from-workload runs the selection on the CPU: seq_len {} is above {FROM_WORKLOAD_MAX_SEQ}; use the analytic model for longer sequences",
            shape.seq_len
        );
    }
    let method = parse_method(spec)?;
    if method.needs_dense_reference() {
        bail!(
            "{} needs the dense attention pass; --from-workload supports selection methods only",
            method.name()
        );
    }
    let workload = generate(&SyntheticSpec {
        profile: profile.to_string(),
        seq_len: shape.seq_len as usize,
        heads: shape.heads as usize,
        kv_heads: shape.kv_heads as usize,
        head_dim: shape.head_dim as usize,
        seed,
    })
    .context("generating the synthetic workload")?;
    let selection = method
        .select(&SelectionContext {
            workload: &workload,
            causal: shape.causal,
            dense: None,
        })
        .with_context(|| format!("selecting with {}", method.label()))?;
    let mut work = work_from_mask(&selection.mask, shape);
    let e = selection.estimation;
    work.estimation = EstimationWork {
        tensor_flops: 0.0,
        vector_flops: e.flops,
        bytes: e.bytes,
        launches: if e.flops > 0.0 || e.bytes > 0.0 { 2 } else { 0 },
    };
    let k = kernel_for(method.name(), kernel)?;
    Ok(MethodWork {
        method: method.name().to_string(),
        params: method.effective_params(shape.seq_len as usize),
        kernel: k.with_tile(work.tile),
        work,
        source: format!("workload:{profile},seed={seed}"),
    })
}

/// Executed tiles per (head, query block) of a mask. Block-sparse masks use their block as the
/// tile; vertical-slash masks their 64-key blocks and loose columns; every other format the key
/// tiles of [`REFERENCE_TILE`] that its plan touches, loose columns outside them gathered.
pub fn work_from_mask(mask: &Mask, shape: AttentionShape) -> AttentionWork {
    let l = mask.seq_len();
    let mut blocks = Vec::new();
    let mut push = |key_tiles: usize, gathered: usize| {
        blocks.push(BlockWork {
            key_tiles: key_tiles as u64,
            gathered_keys: gathered as u64,
            count: 1,
        })
    };
    let tile = match mask {
        Mask::BlockSparse(m) => {
            for h in 0..m.heads() {
                for qb in 0..m.num_blocks() {
                    push(m.key_blocks(h, qb).len(), 0);
                }
            }
            m.block() as u64
        }
        Mask::VerticalSlash(m) => {
            for h in 0..m.heads() {
                for rb in 0..l.div_ceil(REFERENCE_TILE) {
                    push(m.block_offsets(h, rb).len(), m.columns(h, rb).len());
                }
            }
            REFERENCE_TILE as u64
        }
        other => {
            let mut plan = KeyPlan::default();
            let t = REFERENCE_TILE;
            let mut touched = vec![false; l.div_ceil(t)];
            for h in 0..other.heads() {
                for r0 in (0..l).step_by(t) {
                    plan.clear();
                    other.plan_rows(h, r0, (r0 + t).min(l), &mut plan);
                    touched.fill(false);
                    for &(a, b) in &plan.ranges {
                        touched[a as usize / t..(b as usize).div_ceil(t)].fill(true);
                    }
                    let gathered = plan.columns.iter().filter(|&&c| !touched[c as usize / t]).count();
                    push(touched.iter().filter(|&&x| x).count(), gathered);
                }
            }
            t as u64
        }
    };
    AttentionWork {
        shape,
        tile: TileShape { q: tile, k: tile },
        blocks,
        estimation: EstimationWork::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_kernels::mask::VerticalSlashMask;
    use sparselab_workloads::SeededRng;

    fn shape(l: u64, heads: u64, causal: bool) -> AttentionShape {
        AttentionShape {
            seq_len: l,
            heads,
            kv_heads: heads,
            head_dim: 64,
            causal,
            dtype_bytes: 2,
        }
    }

    #[test]
    fn measured_work_matches_the_masks_executed_pairs() {
        for spec in [
            "dense",
            "a-shape:sink=64,local=256",
            "vertical-slash:v=100,s=300",
            "block-topk:k=4,block=64",
        ] {
            let w = from_workload(spec, shape(1024, 2, true), None, "mixed", 1).unwrap();
            w.work.validate().unwrap();
            let m = parse_method(spec).unwrap();
            let wl = generate(&SyntheticSpec {
                profile: "mixed".into(),
                seq_len: 1024,
                heads: 2,
                kv_heads: 2,
                head_dim: 64,
                seed: 1,
            })
            .unwrap();
            let sel = m
                .select(&SelectionContext {
                    workload: &wl,
                    causal: true,
                    dense: None,
                })
                .unwrap();
            // Whole tiles: the roofline's pairs equal the mask's executed pairs on 64-multiples
            // (vertical-slash blocks start where a slash range starts, so the mask clips the
            // last ones at the sequence end and counts a little less).
            let ratio = w.work.executed_pairs() / sel.mask.executed_pairs() as f64;
            let tol = if spec.starts_with("vertical") { 0.02 } else { 1e-12 };
            assert!((1.0..=1.0 + tol).contains(&ratio), "{spec}: {ratio}");
            assert_eq!(w.work.estimation.vector_flops, sel.estimation.flops, "{spec}");
        }
    }

    #[test]
    fn analytic_families_match_real_selections() {
        // Dense, A-shape and block-topk are exact. Vertical-slash's tiles depend on where the chosen
        // slashes lie: the real selection must fall between all-local (spread=0) and all-spread
        // (spread=1) slashes of the same budget.
        let s = shape(4096, 2, true);
        let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol * b.abs().max(1e-300);
        for (spec, tol) in [
            ("dense", 1e-12),
            ("a-shape:sink=128,local=1024", 1e-12),
            ("block-topk:k=8,block=64", 1e-12),
            ("vertical-slash:v=300,s=1000", f64::INFINITY),
        ] {
            let a = analytic(spec, s, Some("minference")).unwrap();
            let m = from_workload(spec, s, Some("minference"), "vertical-slash", 3).unwrap();
            let (da, dm) = (a.work.density(), m.work.density());
            assert!(close(da, dm, tol), "{spec}: analytic {da} measured {dm}");
            // The estimation cost follows the methods' own counting conventions exactly.
            let ea = a.work.estimation.tensor_flops + a.work.estimation.vector_flops;
            assert!(
                close(ea, m.work.estimation.vector_flops, 1e-9),
                "{spec}: {ea} vs {}",
                m.work.estimation.vector_flops
            );
            assert!(close(a.work.estimation.bytes, m.work.estimation.bytes, 1e-9), "{spec}");
        }
        let local = analytic("vertical-slash:v=300,s=1000,spread=0", s, None)
            .unwrap()
            .work
            .density();
        let spread = analytic("vertical-slash:v=300,s=1000,spread=1", s, None)
            .unwrap()
            .work
            .density();
        let real = from_workload("vertical-slash:v=300,s=1000", s, None, "vertical-slash", 3)
            .unwrap()
            .work
            .density();
        assert!(
            local < real && real < spread,
            "local {local} real {real} spread {spread}"
        );
    }

    #[test]
    fn spread_slashes_follow_minference_conversion() {
        // Local band of 1000 diagonals plus 500 at random offsets beyond it, converted by the real
        // vertical-slash mask: the analytic `spread` model must land within 15% of its tiles.
        let (l, local, spread_n) = (8192u32, 1000u32, 500u32);
        let mut rng = SeededRng::new(7, 0);
        let mut slashes: Vec<u32> = (0..local).collect();
        while slashes.len() < (local + spread_n) as usize {
            let o = local + (rng.uniform() * (l - local) as f64) as u32;
            if !slashes.contains(&o) {
                slashes.push(o);
            }
        }
        let verticals: Vec<u32> = (0..30).collect();
        let mask = Mask::VerticalSlash(VerticalSlashMask::new(1, l as usize, vec![verticals], vec![slashes]).unwrap());
        let measured = work_from_mask(&mask, shape(l as u64, 1, true));
        let spread = spread_n as f64 / (local + spread_n) as f64;
        let model = analytic(
            &format!("vertical-slash:v=30,s={},spread={spread}", local + spread_n),
            shape(l as u64, 1, true),
            None,
        )
        .unwrap();
        let ratio = model.work.executed_tiles() as f64 / measured.executed_tiles() as f64;
        assert!(
            (0.85..1.15).contains(&ratio),
            "analytic {} vs mask {}",
            model.work.executed_tiles(),
            measured.executed_tiles()
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = analytic("flexprefill", shape(4096, 1, true), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("flexprefill") && e.contains("--from-workload"), "{e}");
        let e = analytic("vertical-slash:spread=2", shape(4096, 1, true), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("spread"), "{e}");
        let e = from_workload("dense", shape(65536, 1, true), None, "mixed", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("65536") && e.contains("32768"), "{e}");
        let e = analytic("dense", shape(4096, 1, true), Some("fa9"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("fa9"), "{e}");
    }
}
