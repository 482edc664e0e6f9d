//! End-to-end tests of `sparselab tasks` and `sparselab workloads`: the tables,
//! the CSV columns, the heat map files, saved workloads that load back, and the
//! errors a user sees.

mod common;

use common::{read_csv, sparselab, text};
use std::path::PathBuf;

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("tasks-cli", name)
}

#[test]
fn mqar_writes_accuracy_by_method_and_distance() {
    let dir = temp_dir("mqar");
    let csv = dir.join("mqar.csv");
    let o = sparselab(&[
        "tasks",
        "mqar",
        "--seq-len",
        "512",
        "--kv-pairs",
        "64",
        "--examples",
        "16",
        "--methods",
        "dense,a-shape:sink=4,local=64",
        "--quiet",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("mqar | 512 tokens, 64 pairs, 16 examples, vocab 8192"),
        "{stdout}"
    );
    assert!(stdout.contains("| a-shape") && stdout.contains("d 64-255"), "{stdout}");
    let rows = read_csv(&csv);
    for col in [
        "task",
        "method",
        "params",
        "seq_len",
        "density",
        "accuracy",
        "seed",
        "distance",
        "git_commit",
    ] {
        assert!(rows[0].contains_key(col), "missing column {col}");
    }
    let acc = |method: &str, distance: &str| -> f64 {
        rows.iter()
            .find(|r| r["method"] == method && r["distance"] == distance)
            .map(|r| r["accuracy"].parse().unwrap())
            .unwrap_or_else(|| panic!("no {method} {distance} row"))
    };
    assert!(acc("dense", "all") >= 0.99);
    assert!(
        acc("a-shape", "256-1023") < 0.2,
        "the window of 64 cannot reach keys 256+ back"
    );
    assert_eq!(rows.iter().filter(|r| r["distance"] == "all").count(), 2);
}

#[test]
fn niah_writes_grid_csv_and_heat_maps() {
    let dir = temp_dir("niah");
    let csv = dir.join("niah.csv");
    let svg = dir.join("niah.svg");
    let o = sparselab(&[
        "tasks",
        "niah",
        "--lengths",
        "1024,2048",
        "--depths",
        "3",
        "--variant",
        "multiquery",
        "--profile",
        "streaming",
        "--heads",
        "2",
        "--head-dim",
        "64",
        "--methods",
        "dense,a-shape:sink=32,local=256",
        "--quiet",
        "--out",
        csv.to_str().unwrap(),
        "--heatmap",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("niah multiquery | profile streaming"), "{stdout}");
    assert!(
        stdout.contains("| depth % | 1k") && stdout.contains("a-shape:sink=32,local=256"),
        "{stdout}"
    );
    let rows = read_csv(&csv);
    assert_eq!(rows.len(), 2 * 3 * 2, "methods x lengths x depths");
    for r in &rows {
        assert_eq!(r["task"], "niah");
        let (acc, depth): (f64, f64) = (r["accuracy"].parse().unwrap(), r["depth"].parse().unwrap());
        match r["method"].as_str() {
            "dense" => assert_eq!(acc, 1.0, "dense at depth {depth}"),
            _ if depth == 50.0 => assert_eq!(acc, 0.0, "a-shape keeps no middle needle"),
            _ => assert_eq!(acc, 1.0, "a-shape keeps the sink and the window"),
        }
    }
    let svg_text = std::fs::read_to_string(&svg).expect("SVG written");
    assert!(svg_text.starts_with("<svg") && svg_text.contains("depth %"));
    let png = std::fs::read(dir.join("niah.png")).expect("PNG written beside the SVG");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn saved_workloads_load_back_in_both_formats() {
    let dir = temp_dir("save");
    let st = dir.join("w.safetensors");
    let o = sparselab(&[
        "workloads",
        "save",
        "--profile",
        "vertical-slash",
        "--seq-len",
        "256",
        "--heads",
        "4",
        "--kv-heads",
        "2",
        "--head-dim",
        "64",
        "--dtype",
        "bf16",
        "--out",
        st.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("Q [4, 256, 64], K/V [2, 256, 64], bf16"));
    let o = sparselab(&["workloads", "inspect", st.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("synthetic:vertical-slash | 256 tokens, 4 query heads, 2 kv heads (groups of 2), head dim 64"),
        "{stdout}"
    );
    let folder = dir.join("mqar_npy");
    let o = sparselab(&[
        "workloads",
        "save",
        "--kind",
        "mqar",
        "--seq-len",
        "128",
        "--kv-pairs",
        "8",
        "--heads",
        "3",
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = sparselab(&["workloads", "inspect", folder.to_str().unwrap()]);
    assert!(
        text(&o.stdout).contains("128 tokens, 3 query heads"),
        "{}",
        text(&o.stdout)
    );
    // Converting a file keeps its name, shapes and values (f32 to f32 is exact).
    let converted = dir.join("converted");
    let o = sparselab(&[
        "workloads",
        "save",
        "--kind",
        "file",
        "--from-file",
        st.to_str().unwrap(),
        "--out",
        converted.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let inspect = |p: &PathBuf| text(&sparselab(&["workloads", "inspect", p.to_str().unwrap()]).stdout);
    let (a, b) = (inspect(&st), inspect(&converted));
    assert_eq!(
        a.lines().skip(1).collect::<Vec<_>>(),
        b.lines().skip(1).collect::<Vec<_>>()
    );
}

#[test]
fn user_errors_name_the_problem() {
    let o = sparselab(&["tasks", "niah", "--variant", "triple", "--methods", "dense", "--quiet"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("variant = triple"), "{}", text(&o.stderr));
    let o = sparselab(&[
        "tasks",
        "mqar",
        "--seq-len",
        "100",
        "--kv-pairs",
        "40",
        "--methods",
        "dense",
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("num_kv_pairs = 40"), "{}", text(&o.stderr));
    let o = sparselab(&["workloads", "inspect", "/nonexistent/run_"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("run_q.npy"), "{}", text(&o.stderr));
    let o = sparselab(&["workloads", "save", "--dtype", "int8", "--out", "/tmp/x.safetensors"]);
    assert!(text(&o.stderr).contains("--dtype `int8`"), "{}", text(&o.stderr));
}
