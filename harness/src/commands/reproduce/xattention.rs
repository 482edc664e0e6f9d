//! XAttention (Xu et al., arXiv 2503.16428): how dense its selection is at each
//! length (stride 8). Ours: the `xattention` method (tau 0.9, stride 8, 128-token
//! blocks) selecting on the synthetic `llama-like` workload, causal.

use anyhow::{Context, Result};
use sparselab_kernels::method::{parse_method, SelectionContext};
use sparselab_workloads::synthetic::{generate, SyntheticSpec};

use super::papers::figures;
use super::row::{Origin, ReproduceRow};
use crate::provenance::Provenance;

const PAPER: &str = "xattention";
/// Heads of the synthetic workload (the llama-like profile mixes head kinds by share).
const HEADS: usize = 8;

/// Our density at each of the paper's lengths up to `max_len`, beside the paper's.
pub fn rows(max_len: usize, seed: u64, progress: &dyn Fn(&str)) -> Result<Vec<ReproduceRow>> {
    let prov = Provenance::cpu();
    let origin = Origin::Measured(prov.device.clone());
    let method = parse_method("xattention:tau=0.9,stride=8,block=128")?;
    let mut rows = Vec::new();
    for fig in figures(PAPER)? {
        let seq_len = seq_len_of(&fig.setting)
            .with_context(|| format!("results/papers/{PAPER}.csv: setting `{}` has no L=", fig.setting))?;
        if seq_len > max_len {
            continue;
        }
        progress(&format!("xattention: selecting at {seq_len} tokens"));
        let spec = SyntheticSpec {
            profile: "llama-like".into(),
            seq_len,
            heads: HEADS,
            kv_heads: HEADS,
            head_dim: 128,
            seed,
        };
        let workload = generate(&spec).with_context(|| format!("generating llama-like at {seq_len} tokens"))?;
        let selection = method.select(&SelectionContext {
            workload: &workload,
            causal: true,
            dense: None,
        })?;
        let note = "synthetic llama-like heads (planted sinks, windows, lines, blocks), not the paper's \
                    Llama-3.1-8B activations; density = executed 128x128 tiles over causal pairs";
        rows.push(ReproduceRow::new(
            PAPER,
            &fig,
            selection.mask.density(),
            &origin,
            note,
            &prov,
        ));
    }
    Ok(rows)
}

/// The `L=` value of a setting such as `stride=8 L=4096`.
fn seq_len_of(setting: &str) -> Option<usize> {
    setting
        .split_whitespace()
        .find_map(|w| w.strip_prefix("L=")?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_length_of_a_setting() {
        assert_eq!(seq_len_of("stride=8 L=4096"), Some(4096));
        assert_eq!(seq_len_of("stride=8"), None);
    }
}
