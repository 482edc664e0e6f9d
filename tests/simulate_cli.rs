//! End-to-end tests of `sparselab simulate`: the table, the CSV with one step row per model and
//! N:M, and the errors a user sees for bad input.

mod common;

use common::{sparselab, stderr};
use std::path::PathBuf;
use std::sync::OnceLock;

/// One folder for this file's tests (created once, so parallel tests share it).
fn temp_path(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::temp_dir("simulate-cli", "")).join(name)
}

#[test]
fn writes_rows_per_layer_and_pass_and_one_step_row_per_ratio() {
    let out = temp_path("bert.csv");
    let o = sparselab(&[
        "simulate",
        "--model",
        "bert-layer",
        "--nm",
        "2:4,2:8",
        "--batch",
        "2",
        "--seq",
        "64",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("vcu1525") && stdout.contains("speedup"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for col in [
        "model",
        "layer",
        "pass",
        "nm",
        "cycles",
        "util",
        "stall_cycles",
        "dram_bytes",
        "speedup_vs_dense",
        "energy_uj",
    ] {
        assert!(header.contains(&col), "missing column {col}: {header:?}");
    }
    let idx = |c: &str| header.iter().position(|h| *h == c).unwrap();
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    let steps: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[idx("layer")] == "total" && r[idx("pass")] == "step")
        .collect();
    let nms: Vec<&str> = steps.iter().map(|r| r[idx("nm")].as_str()).collect();
    assert_eq!(nms, vec!["dense", "2:4", "2:8"]);
    let speedup = |r: &Vec<String>| r[idx("speedup_vs_dense")].parse::<f64>().unwrap();
    assert_eq!(speedup(steps[0]), 1.0);
    assert!(speedup(steps[1]) > 1.0 && speedup(steps[2]) > speedup(steps[1]));
    for pass in ["fwd", "bwd_data", "wgrad", "bwd_a", "bwd_b", "update", "prune"] {
        assert!(
            rows.iter()
                .any(|r| r[idx("pass")] == pass && r[idx("layer")] != "total"),
            "no {pass} rows"
        );
    }
}

#[test]
fn ablation_prints_the_effects_table() {
    let o = sparselab(&[
        "simulate",
        "--model",
        "bert-layer",
        "--nm",
        "2:8",
        "--batch",
        "1",
        "--seq",
        "64",
        "--ablation",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("-array_underuse") && stdout.contains("all off"),
        "{stdout}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let o = sparselab(&["simulate", "--nm", "3:2"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("3:2") && stderr(&o).contains("N > M"),
        "{}",
        stderr(&o)
    );

    let o = sparselab(&["simulate", "--model", "alexnet"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown model `alexnet`"), "{}", stderr(&o));

    let bad = temp_path("zero.toml");
    let preset = include_str!("../simulators/presets/vcu1525.toml").replacen("rows = 64", "rows = 0", 1);
    std::fs::write(&bad, preset).unwrap();
    let o = sparselab(&["simulate", "--preset", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("array.rows"), "{}", stderr(&o));

    let small = temp_path("small.toml");
    let preset = include_str!("../simulators/presets/vcu1525.toml").replacen("ofmap_kib = 4096", "ofmap_kib = 1", 1);
    std::fs::write(&small, preset).unwrap();
    let o = sparselab(&["simulate", "--preset", small.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("memory.ofmap_kib"), "{}", stderr(&o));
}
