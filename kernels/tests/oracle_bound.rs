//! The oracles bound every method from above: at the same per-row key count no
//! mask recalls more attention mass than the per-row top keys, and at the same
//! `k` and block size no block selection beats the top blocks by true mass.
//! Runs the reference in f64 so the comparison is exact to ~1e-12.

mod method_support;

use method_support::{dense_pass, planted_workload, random_workload};
use sparselab_kernels::mask::Mask;
use sparselab_kernels::method::{parse_method, Method, OracleKeys, SelectionContext};
use sparselab_kernels::metrics::{recall, recall_per_row};
use sparselab_kernels::reference::{attention, AttentionOutput, Precision, ReferenceOptions};
use sparselab_workloads::Workload;

const F64: ReferenceOptions = ReferenceOptions {
    precision: Precision::F64,
    block_lse: false,
};

fn run(method: &dyn Method, w: &Workload, dense: &AttentionOutput) -> AttentionOutput {
    let ctx = SelectionContext {
        workload: w,
        causal: true,
        dense: Some(dense),
    };
    let sel = method
        .select(&ctx)
        .unwrap_or_else(|e| panic!("{}: {e}", method.label()));
    attention(w, &sel.mask, &F64).unwrap()
}

fn check_key_bound(w: &Workload, specs: &[&str]) {
    let dense = dense_pass(w, true, Precision::F64);
    for spec in specs {
        let method = parse_method(spec).unwrap();
        let masked = run(method.as_ref(), w, &dense);
        let oracle = run(&OracleKeys::per_row(masked.kept.clone()), w, &dense);
        assert_eq!(
            oracle.kept, masked.kept,
            "{spec}: the oracle keeps the same count per row"
        );
        let (m, o) = (recall_per_row(&dense, &masked), recall_per_row(&dense, &oracle));
        let mut strictly_better = 0;
        for (row, (rm, ro)) in m.iter().zip(&o).enumerate() {
            assert!(
                ro + 1e-9 >= *rm,
                "{} on {}: row {row} method {rm} > oracle {ro}",
                spec,
                w.name
            );
            strictly_better += (ro > &(rm + 1e-6)) as usize;
        }
        // Where the method drops keys, the oracle should do strictly better somewhere.
        let seq = w.seq_len();
        let drops = masked.kept.iter().enumerate().any(|(i, &k)| (k as usize) < i % seq + 1);
        assert_eq!(strictly_better > 0, drops, "{spec} on {}: drops keys {drops}", w.name);
    }
}

const SPECS: [&str; 8] = [
    "dense",
    "a-shape:sink=16,local=64",
    "vertical-slash:v=40,s=60",
    "block-topk:k=3,block=64",
    "flexprefill:gamma=0.9,tau=0.1,block=128",
    "xattention:tau=0.9,stride=8,block=128",
    "xattention:tau=0.8,stride=16,block=64",
    "oracle-blocks:k=2,block=64",
];

#[test]
fn oracle_keys_bound_every_method_row_by_row_on_random_data() {
    check_key_bound(&random_workload(2, 1, 512, 32, 7), &SPECS);
}

#[test]
fn oracle_keys_bound_every_method_row_by_row_on_planted_lines() {
    check_key_bound(&planted_workload(2, 640, 32, 150, 200, 9), &SPECS);
}

#[test]
fn oracle_blocks_bound_block_topk_at_the_same_budget() {
    for w in [
        random_workload(2, 2, 704, 32, 13),
        planted_workload(2, 704, 32, 150, 200, 3),
    ] {
        let dense = dense_pass(&w, true, Precision::F64);
        for (k, block) in [(1, 64), (3, 64), (2, 128)] {
            let topk = run(
                parse_method(&format!("block-topk:k={k},block={block}"))
                    .unwrap()
                    .as_ref(),
                &w,
                &dense,
            );
            let oracle = run(
                parse_method(&format!("oracle-blocks:k={k},block={block}"))
                    .unwrap()
                    .as_ref(),
                &w,
                &dense,
            );
            let (rt, ro) = (recall(&dense, &topk).mean, recall(&dense, &oracle).mean);
            assert!(
                ro + 1e-7 >= rt,
                "{} k={k} block={block}: block-topk {rt} > oracle {ro}",
                w.name
            );
        }
    }
}

#[test]
fn oracle_keys_with_full_budgets_is_dense() {
    let w = random_workload(2, 1, 200, 16, 2);
    let dense = dense_pass(&w, true, Precision::F64);
    let full: Vec<u32> = (0..2).flat_map(|_| 1..=200u32).collect();
    let oracle = OracleKeys::per_row(full);
    let ctx = SelectionContext {
        workload: &w,
        causal: true,
        dense: None,
    };
    let sel = oracle.select(&ctx).unwrap();
    assert!(matches!(sel.mask, Mask::KeyList(_)));
    let out = attention(&w, &sel.mask, &F64).unwrap();
    assert!(recall_per_row(&dense, &out).iter().all(|&r| r > 1.0 - 1e-12));
    let short = OracleKeys::per_row(vec![1; 10])
        .select(&ctx)
        .err()
        .map(|e| e.to_string());
    assert!(short.is_some_and(|e| e.contains("10 entries")));
}
