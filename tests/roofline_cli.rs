//! End-to-end tests of `sparselab roofline`: the CSV columns, the speedup over dense, `--scale`
//! what-ifs, `--from-workload`, user presets, the MInference paper table, and the errors a user
//! sees for bad input.

mod common;

use common::{read_csv, sparselab, stderr, temp_dir, text};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

fn temp_path(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| temp_dir("roofline-cli", "")).join(name)
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {} is not a number", row[col]))
}

fn run_csv(name: &str, extra: &[&str]) -> Vec<HashMap<String, String>> {
    let out = temp_path(name);
    let mut args = vec!["roofline", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = sparselab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    read_csv(&out)
}

#[test]
fn rows_carry_the_columns_and_sparse_methods_beat_dense_at_long_lengths() {
    let rows = run_csv(
        "h100.csv",
        &[
            "--seq-len",
            "16384,131072",
            "--methods",
            "dense,vertical-slash:v=1000,s=6096,block-topk",
        ],
    );
    assert_eq!(rows.len(), 6);
    for col in [
        "hardware",
        "method",
        "params",
        "seq_len",
        "density",
        "flops",
        "bytes",
        "intensity",
        "predicted_ms",
        "roofline_ms",
        "bound",
        "speedup_vs_dense",
        "model",
        "preset",
        "scale",
        "git_commit",
        "date",
    ] {
        assert!(rows[0].contains_key(col), "missing column {col}");
    }
    for r in &rows {
        assert_eq!(r["hardware"], "h100");
        assert!(num(r, "predicted_ms") >= num(r, "roofline_ms"), "{r:?}");
        assert!(r["bound"] == "compute" || r["bound"] == "memory");
    }
    let vs_long = rows
        .iter()
        .find(|r| r["method"] == "vertical-slash" && r["seq_len"] == "131072")
        .unwrap();
    // REFERENCE.md §1: MInference's kernel at 131072 tokens keeps 10.0% of the causal tiles.
    assert!((0.08..0.12).contains(&num(vs_long, "density")), "{vs_long:?}");
    assert!(num(vs_long, "speedup_vs_dense") > 5.0, "{vs_long:?}");
    let dense = rows.iter().find(|r| r["method"] == "dense").unwrap();
    assert_eq!(num(dense, "speedup_vs_dense"), 1.0);
}

#[test]
fn scale_bandwidth_changes_memory_bound_rows_only() {
    let base = run_csv("base.csv", &["--seq-len", "65536", "--methods", "dense,a-shape"]);
    let fast = run_csv(
        "bw.csv",
        &[
            "--seq-len",
            "65536",
            "--methods",
            "dense,a-shape",
            "--scale",
            "bandwidth=2",
        ],
    );
    assert_eq!(fast[0]["scale"], "bandwidth=2");
    // Dense is compute bound: twice the bandwidth leaves its predicted time unchanged.
    assert_eq!(base[0]["bound"], "compute");
    assert_eq!(num(&base[0], "predicted_ms"), num(&fast[0], "predicted_ms"));
    // A card with 1% of the bandwidth makes the thin A-shape memory bound.
    let slow = run_csv(
        "slow.csv",
        &[
            "--seq-len",
            "65536",
            "--methods",
            "a-shape",
            "--scale",
            "bandwidth=0.01",
            "--scale",
            "l2_bandwidth=0.01",
        ],
    );
    assert_eq!(slow[0]["bound"], "memory", "{:?}", slow[0]);
    assert!(num(&slow[0], "predicted_ms") > num(&base[1], "predicted_ms"));
}

#[test]
fn from_workload_counts_the_real_selection() {
    let rows = run_csv(
        "workload.csv",
        &[
            "--seq-len",
            "2048",
            "--heads",
            "2",
            "--methods",
            "dense,flexprefill",
            "--from-workload",
            "--profile",
            "mixed",
        ],
    );
    assert_eq!(rows.len(), 2);
    assert!(rows[1]["work"].starts_with("workload:mixed"), "{:?}", rows[1]);
    assert!(num(&rows[1], "density") < 1.0);
}

#[test]
fn a_users_preset_file_is_used_and_a_broken_one_is_named() {
    let dir = temp_path("presets");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("mygpu.toml");
    std::fs::write(
        &good,
        "name = \"mygpu\"\ntensor_flops = 100e12\nvector_flops = 10e12\nsfu_ops = 1e12\nhbm_bandwidth = 1e12\n\
         l2_bytes = 10e6\nl2_bandwidth = 3e12\nsms = 50\nsmem_per_sm = 100000\nlaunch_overhead_s = 5e-6\n",
    )
    .unwrap();
    let rows = run_csv(
        "mygpu.csv",
        &[
            "--hardware",
            good.to_str().unwrap(),
            "--seq-len",
            "8192",
            "--methods",
            "dense",
        ],
    );
    assert_eq!(rows[0]["hardware"], "mygpu");
    assert_eq!(rows[0]["efficiency_source"], "default");
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "name = \"x\"\ntensor_flops = 1e12\n").unwrap();
    let o = sparselab(&["roofline", "--hardware", broken.to_str().unwrap(), "--seq-len", "4096"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("broken.toml") && e.contains("vector_flops"), "{e}");
}

#[test]
fn bad_input_is_a_clear_error() {
    for (args, wanted) in [
        (vec!["roofline", "--scale", "speed=2"], "speed=2"),
        (vec!["roofline", "--methods", "oracle-keys"], "--from-workload"),
        (vec!["roofline", "--hardware", "v100"], "v100"),
        (vec!["roofline", "--kernel", "fa9"], "fa9"),
        (vec!["roofline", "--paper", "seer"], "minference"),
        (vec!["roofline", "--causal", "false", "--methods", "a-shape"], "causal"),
    ] {
        let o = sparselab(&args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stderr(&o).contains(wanted), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn minference_paper_table_prints_the_papers_seconds_and_reasons() {
    let out = temp_path("paper.csv");
    let o = sparselab(&["roofline", "--paper", "minference", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("a100") && stdout.contains("1765.6"), "{stdout}");
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 10);
    for r in &rows {
        let ratio = num(r, "ratio");
        assert_eq!(r["why"].is_empty(), (0.75..=1.25).contains(&ratio), "{r:?}");
        assert!(r["source"].contains("2407.02490"));
    }
    // The what-if: twice the FLOP/s shortens every prediction.
    let fast = temp_path("paper-fast.csv");
    let o = sparselab(&[
        "roofline",
        "--paper",
        "minference",
        "--scale",
        "flops=2",
        "--out",
        fast.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for (a, b) in rows.iter().zip(read_csv(&fast)) {
        assert!(num(&b, "predicted_s") < num(a, "predicted_s"));
    }
}

#[test]
fn calibrate_without_a_gpu_fails_clearly() {
    // On a machine with an NVIDIA driver this would measure for real; it runs on the device instead.
    if std::path::Path::new("/dev/nvidiactl").exists() {
        return;
    }
    let out = temp_path("never.toml");
    let o = sparselab(&["calibrate", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("needs a CUDA GPU"), "{}", stderr(&o));
    assert!(!out.exists(), "no preset may be written without measurements");
    let o = sparselab(&["calibrate", "--iters", "5"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 20"), "{}", stderr(&o));
}

#[test]
fn against_a_bench_csv_reports_errors_and_the_gap_to_the_roofline() {
    let bench =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/gpu-attention-h100-2026-11-23/sparselab.csv");
    let rows = run_csv("against.csv", &["--against", bench.to_str().unwrap()]);
    assert_eq!(rows.len(), 28);
    for r in &rows {
        let err = (num(r, "predicted_ms") - num(r, "measured_ms")) / num(r, "measured_ms") * 100.0;
        assert!((err - num(r, "error_pct")).abs() < 1e-6, "{r:?}");
        assert!(num(r, "short_of_roofline") > 1.0, "{r:?}");
    }
    let o = sparselab(&["roofline", "--against", "/nonexistent/bench.csv"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/bench.csv"), "{}", stderr(&o));
}

#[test]
fn calibrate_from_bench_refits_the_overhead_without_a_gpu() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results/roofline-h100-2026-11-23");
    let (preset, bench) = (dir.join("h100-calibrated.toml"), dir.join("bench.csv"));
    let out = temp_path("refit.toml");
    let o = sparselab(&[
        "calibrate",
        "--hardware",
        preset.to_str().unwrap(),
        "--from-bench",
        bench.to_str().unwrap(),
        "--short-seq-len",
        "4096",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text(&o.stdout).contains("sparselab causal: L=16384"),
        "{}",
        text(&o.stdout)
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("causal_block_overhead_tiles = "), "{written}");
    // The re-fitted file reproduces the dense rows it was fitted on.
    let rows = run_csv(
        "refit-against.csv",
        &[
            "--hardware",
            out.to_str().unwrap(),
            "--against",
            bench.to_str().unwrap(),
        ],
    );
    let dense: Vec<_> = rows
        .iter()
        .filter(|r| r["method"] == "dense" && num(r, "seq_len") <= 16384.0)
        .collect();
    assert_eq!(dense.len(), 2);
    for r in dense {
        assert!(num(r, "error_pct").abs() < 1e-3, "{r:?}");
    }
    // A short run that is not shorter, and a preset that was never calibrated, are refused.
    let o = sparselab(&[
        "calibrate",
        "--short-seq-len",
        "16384",
        "--from-bench",
        bench.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--short-seq-len 16384"), "{}", stderr(&o));
    let o = sparselab(&[
        "calibrate",
        "--hardware",
        "h100",
        "--from-bench",
        bench.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("[measured]"), "{}", stderr(&o));
}

#[test]
fn bench_rejects_a_bad_sustain_time_before_looking_for_a_gpu() {
    for bad in ["-1", "NaN", "inf"] {
        let o = sparselab(&["bench", &format!("--warmup-ms={bad}")]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("--warmup-ms must be a finite number"),
            "{}",
            stderr(&o)
        );
    }
}
