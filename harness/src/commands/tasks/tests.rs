//! The claims of the task workloads, at sizes that run in seconds: dense attention
//! solves both tasks, and the A-shape loses the far MQAR queries and the middle
//! NIAH needles that vertical-slash and the oracle keep at no more density.

use super::mqar::{score_rows, MqarArgs, MqarRow};
use super::niah::{grid, NiahArgs, NiahRow};
use super::scoring::run_methods;
use indicatif::ProgressBar;
use sparselab_kernels::method::parse_methods;
use sparselab_workloads::tasks::{MqarConfig, MqarSolver, MqarTask, NiahVariant};

fn mqar_args(seq_len: usize, kv_pairs: usize, examples: usize) -> MqarArgs {
    MqarArgs {
        seq_len,
        kv_pairs,
        examples,
        methods: String::new(),
        vocab: None,
        power_a: 0.01,
        head_dim: 128,
        seed: 0,
        out: None,
        quiet: true,
    }
}

fn mqar(args: &MqarArgs, methods: &str) -> Vec<MqarRow> {
    let methods = parse_methods(methods).unwrap();
    let config = MqarConfig::new(args.seq_len, args.kv_pairs);
    let task = MqarTask::build(&config, args.examples, &MqarSolver::default(), args.seed).unwrap();
    let (outputs, skipped) = run_methods(&task.workload, &methods, &task.probes(), &ProgressBar::hidden()).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    score_rows(&task, &outputs, args.seed).unwrap()
}

fn row<'a>(rows: &'a [MqarRow], method: &str, distance: &str) -> &'a MqarRow {
    rows.iter()
        .find(|r| r.method == method && r.distance == distance)
        .unwrap_or_else(|| panic!("no row for {method} at distance {distance}"))
}

#[test]
fn dense_attention_solves_mqar_at_zoologys_largest_config() {
    let rows = mqar(&mqar_args(512, 64, 64), "dense");
    let all = row(&rows, "dense", "all");
    assert!(all.accuracy >= 0.99, "dense accuracy {}", all.accuracy);
    assert_eq!(all.queries, 64 * 64);
}

#[test]
fn a_shape_loses_far_mqar_queries_that_vertical_slash_and_the_oracle_keep() {
    let rows = mqar(
        &mqar_args(2048, 128, 8),
        "a-shape:sink=64,local=512,vertical-slash:v=512,s=64,oracle-keys:k=256",
    );
    let a_shape = row(&rows, "a-shape", "all");
    // Queries whose key is within the window are answered; those 1024+ tokens back are not.
    assert!(row(&rows, "a-shape", "64-255").accuracy >= 0.99);
    let far = row(&rows, "a-shape", "1024-4095");
    assert!(far.queries >= 50 && far.accuracy <= 0.3, "a-shape far: {far:?}");
    for method in ["vertical-slash", "oracle-keys"] {
        let all = row(&rows, method, "all");
        assert!(
            all.density <= a_shape.density + 0.01,
            "{method} density {} vs a-shape {}",
            all.density,
            a_shape.density
        );
        assert!(all.accuracy >= 0.95, "{method}: {}", all.accuracy);
        assert!(row(&rows, method, "1024-4095").accuracy >= 0.95, "{method} far");
    }
}

/// Zoology-style long config: 16k tokens, 1024 pairs, vocabulary 32768 (about 1
/// minute; run with `cargo test -p sparselab dense_mqar_long -- --ignored`).
#[test]
#[ignore]
fn dense_mqar_long() {
    let rows = mqar(&mqar_args(16384, 1024, 4), "dense");
    let all = row(&rows, "dense", "all");
    assert!(all.accuracy >= 0.99, "dense accuracy {} at 16k", all.accuracy);
}

fn niah_args(profile: &str, heads: usize) -> NiahArgs {
    NiahArgs {
        lengths: String::new(),
        depths: String::new(),
        variant: String::new(),
        methods: String::new(),
        profile: profile.into(),
        heads,
        kv_heads: None,
        head_dim: 128,
        margin: 8.0,
        seed: 0,
        out: None,
        heatmap: None,
        quiet: true,
    }
}

fn niah(args: &NiahArgs, methods: &str, variant: NiahVariant, lengths: &[usize], depths: &[f64]) -> Vec<NiahRow> {
    let methods = parse_methods(methods).unwrap();
    grid(args, &methods, variant, lengths, depths, &ProgressBar::hidden()).unwrap()
}

#[test]
fn dense_retrieves_every_needle_of_every_variant() {
    let depths: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
    for variant in NiahVariant::ALL {
        let rows = niah(&niah_args("llama-like", 2), "dense", variant, &[1000, 2048], &depths);
        assert_eq!(rows.len(), 2 * 11);
        for r in &rows {
            assert_eq!(
                r.accuracy,
                1.0,
                "{} at {} tokens, depth {}",
                variant.name(),
                r.seq_len,
                r.depth
            );
        }
    }
}

#[test]
fn a_shape_loses_the_middle_needles_that_vertical_slash_and_the_oracle_keep() {
    let depths = [0.0, 0.25, 0.5, 0.75, 1.0];
    let rows = niah(
        &niah_args("llama-like", 2),
        "a-shape:sink=64,local=512,vertical-slash:v=512,s=64,oracle-keys:k=256",
        NiahVariant::Single,
        &[4096],
        &depths,
    );
    let at = |method: &str, depth: f64| {
        rows.iter()
            .find(|r| r.method == method && r.depth == depth)
            .unwrap_or_else(|| panic!("no {method} row at depth {depth}"))
    };
    for depth in [0.0, 100.0] {
        assert_eq!(
            at("a-shape", depth).accuracy,
            1.0,
            "a-shape keeps sink and window ({depth}%)"
        );
    }
    for depth in [25.0, 50.0, 75.0] {
        assert_eq!(at("a-shape", depth).accuracy, 0.0, "a-shape at depth {depth}%");
    }
    for method in ["vertical-slash", "oracle-keys"] {
        for depth in [0.0, 25.0, 50.0, 75.0, 100.0] {
            let r = at(method, depth);
            assert_eq!(r.accuracy, 1.0, "{method} at depth {depth}%");
            assert!(
                r.density <= at("a-shape", depth).density + 0.02,
                "{method} density {} vs a-shape {}",
                r.density,
                at("a-shape", depth).density
            );
        }
    }
}

/// Dense NIAH at 16k and 32k tokens, every variant, 11 depths (under a minute in release;
/// run with `cargo test --release -p sparselab dense_niah_long -- --ignored`).
#[test]
#[ignore]
fn dense_niah_long() {
    let depths: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
    for variant in NiahVariant::ALL {
        for r in niah(&niah_args("llama-like", 2), "dense", variant, &[16384, 32768], &depths) {
            assert_eq!(
                r.accuracy,
                1.0,
                "{} at {} tokens, depth {}",
                variant.name(),
                r.seq_len,
                r.depth
            );
        }
    }
}
