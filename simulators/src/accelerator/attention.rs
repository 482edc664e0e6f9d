//! Attention's GEMMs (QK^T and PV per head) on the accelerator under a `kernels` mask, so that
//! sparse attention and sparse training are costed on one array.
//!
//! For every head and every block of [`REFERENCE_TILE`] query rows, the mask's key plan gives the
//! keys the block loads; each block runs `S = Q K^T` (`rows x d` by `d x keys`) and `O = P V`
//! (`rows x keys` by `keys x d`). Block formats skip whole key blocks in both GEMMs. An
//! [`NmMask`](sparselab_kernels::mask::NmMask) keeps N of every M keys per query: the N:M PEs
//! skip along a *reduction*, so PV (reduction over keys, run as `O^T = V^T P^T` with `P^T` the
//! sparse operand) takes N/M of its cycles, while QK^T (keys are its output columns, with a
//! different pattern per query) is computed dense over the block's keys.

use super::config::AcceleratorConfig;
use super::effects::Effects;
use super::gemm::{Gemm, NmRatio};
use super::pass::{PassRow, Totals};
use super::sim::simulate_gemm;
use super::Pass;
use crate::error::{Result, SimulatorError};
use sparselab_kernels::mask::{block_len, KeyPlan, Mask, MaskFormat, REFERENCE_TILE};
use std::collections::HashMap;

/// What one attention layer's GEMMs cost on the accelerator.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionRun {
    /// The mask's format name.
    pub format: &'static str,
    /// Executed pairs over dense pairs, as the mask reports it.
    pub density: f64,
    /// `S = Q K^T` over all heads and query blocks.
    pub qk: Totals,
    /// `O = P V` over all heads and query blocks.
    pub pv: Totals,
}

impl AttentionRun {
    /// Cycles of both GEMMs.
    pub fn cycles(&self) -> f64 {
        self.qk.cycles + self.pv.cycles
    }
}

/// Simulates the attention GEMMs of `mask` (all heads, one sequence) with head dimension `head_dim`.
pub fn simulate_attention(
    mask: &Mask,
    head_dim: u64,
    config: &AcceleratorConfig,
    effects: &Effects,
) -> Result<AttentionRun> {
    if head_dim == 0 {
        return Err(SimulatorError::bad_workload("head_dim", head_dim, "at least 1"));
    }
    let nm = match mask {
        Mask::Nm(m) => Some(NmRatio::new(m.n() as u32, m.m() as u32)?),
        _ => None,
    };
    // Identical (rows, keys) blocks run as one GEMM repeated: shapes repeat across heads.
    let mut shapes: HashMap<(u64, u64), u64> = HashMap::new();
    let mut plan = KeyPlan::default();
    let seq = mask.seq_len();
    for h in 0..mask.heads() {
        for r0 in (0..seq).step_by(REFERENCE_TILE) {
            let rows = block_len(seq, REFERENCE_TILE, r0 / REFERENCE_TILE);
            plan.clear();
            mask.plan_rows(h, r0, r0 + rows, &mut plan);
            let keys = plan.len() as u64;
            if keys > 0 {
                *shapes.entry((rows as u64, keys)).or_default() += 1;
            }
        }
    }
    let mut shapes: Vec<_> = shapes.into_iter().collect();
    shapes.sort_unstable();
    let (mut qk_rows, mut pv_rows) = (Vec::new(), Vec::new());
    for ((rows, keys), count) in shapes {
        let qk = Gemm {
            count,
            ..Gemm::dense(rows, head_dim, keys)
        };
        let pv = match nm {
            // O^T[d, rows] = V^T[d, keys] · P^T[keys, rows], P^T N:M along keys.
            Some(nm) => Gemm {
                count,
                ..Gemm::dense(head_dim, keys, rows).with_sparsity(Some(nm))
            },
            None => Gemm {
                count,
                ..Gemm::dense(rows, keys, head_dim)
            },
        };
        let name = format!("{rows}x{keys}");
        qk_rows.push(PassRow::from_gemm(
            &name,
            Pass::Forward,
            &qk,
            &simulate_gemm(&qk, config, effects)?,
            false,
        ));
        pv_rows.push(PassRow::from_gemm(
            &name,
            Pass::Forward,
            &pv,
            &simulate_gemm(&pv, config, effects)?,
            false,
        ));
    }
    Ok(AttentionRun {
        format: mask.format_name(),
        density: mask.density(),
        qk: Totals::of(&qk_rows),
        pv: Totals::of(&pv_rows),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparselab_kernels::mask::{BlockSparseMask, DenseMask, NmMask};

    fn fpga() -> AcceleratorConfig {
        AcceleratorConfig::preset("vcu1525").unwrap()
    }

    #[test]
    fn block_sparse_density_scales_cycles() {
        // 4 heads x 2048 tokens, non-causal, block 64: keep every 4th key block (density 1/4).
        let (heads, seq, block) = (4usize, 2048usize, 64usize);
        let nb = seq / block;
        let lists: Vec<Vec<u32>> = (0..heads * nb)
            .map(|i| (0..nb as u32).filter(|kb| (kb + i as u32) % 4 == 0).collect())
            .collect();
        let sparse = Mask::BlockSparse(BlockSparseMask::new(heads, seq, block, false, lists).unwrap());
        let dense = Mask::Dense(DenseMask {
            heads,
            seq_len: seq,
            causal: false,
        });
        let s = simulate_attention(&sparse, 64, &fpga(), &Effects::ALL_ON).unwrap();
        let d = simulate_attention(&dense, 64, &fpga(), &Effects::ALL_ON).unwrap();
        assert!((s.density - 0.25).abs() < 1e-9);
        let ratio = s.cycles() / d.cycles();
        assert!(
            (ratio - 0.25).abs() < 0.25 * 0.1,
            "block-sparse at density 1/4 took {ratio} of dense"
        );
        assert_eq!(s.qk.counts.macs * 4, d.qk.counts.macs);
    }

    #[test]
    fn nm_mask_saves_only_in_pv() {
        // 2 heads x 256 tokens, non-causal, 2:8 keys per query.
        let (heads, seq) = (2usize, 256usize);
        let patterns = vec![0b0000_0011u16; heads * seq * seq / 8];
        let nm = Mask::Nm(NmMask::new(heads, seq, false, 2, 8, patterns).unwrap());
        let dense = Mask::Dense(DenseMask {
            heads,
            seq_len: seq,
            causal: false,
        });
        let cfg = AcceleratorConfig::ideal(64, 32, super::super::Dataflow::OutputStationary);
        let s = simulate_attention(&nm, 64, &cfg, &Effects::ALL_ON).unwrap();
        let d = simulate_attention(&dense, 64, &cfg, &Effects::ALL_ON).unwrap();
        assert_eq!(s.qk.cycles, d.qk.cycles, "QK^T stays dense");
        assert_eq!(s.pv.counts.macs * 4, d.pv.counts.macs, "PV performs 2 of every 8 MACs");
        assert!(s.pv.cycles < 0.5 * d.pv.cycles);
    }

    #[test]
    fn zero_head_dim_is_an_error() {
        let dense = Mask::Dense(DenseMask {
            heads: 1,
            seq_len: 64,
            causal: true,
        });
        assert!(simulate_attention(&dense, 0, &fpga(), &Effects::ALL_ON).is_err());
    }
}
