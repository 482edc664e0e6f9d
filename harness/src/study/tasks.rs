//! Task accuracy in the default study: MQAR (Zoology's multi-query associative recall, solved by a
//! constructed induction head) under each method's mask at one length, so the study reports what a
//! method keeps of a task that needs exact retrieval beside its attention-mass recall.

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use sparselab_kernels::method::Method;
use sparselab_workloads::tasks::{MqarConfig, MqarSolver, MqarTask};

use crate::commands::tasks::mqar::{score_rows, MqarRow};
use crate::commands::tasks::scoring::run_methods;

/// Key-value pairs per token of the study's MQAR sequences (Zoology's longest config, 512 tokens with
/// 64 pairs, has one pair per 8 tokens; a sparser 1/16 keeps queries far from many keys).
pub const PAIRS_PER_TOKEN: usize = 16;
/// Sequences per run.
pub const EXAMPLES: usize = 8;

/// MQAR accuracy of every method at `seq_len` tokens: one `all` row per method and one per range of
/// key-to-query distance. Methods that cannot run at this length are reported on stderr and left out.
pub fn mqar_rows(seq_len: usize, methods: &[Box<dyn Method>], seed: u64, bar: &ProgressBar) -> Result<Vec<MqarRow>> {
    let config = MqarConfig::new(seq_len, (seq_len / PAIRS_PER_TOKEN).max(1));
    let task = MqarTask::build(&config, EXAMPLES, &MqarSolver::default(), seed)
        .with_context(|| format!("building MQAR at {seq_len} tokens"))?;
    bar.set_message(format!("MQAR at {seq_len} tokens"));
    let (outputs, skipped) = run_methods(&task.workload, methods, &task.probes(), bar)?;
    for s in skipped {
        eprintln!("MQAR: skipped {} at {seq_len} tokens: {}", s.label, s.reason);
    }
    score_rows(&task, &outputs, seed)
}
