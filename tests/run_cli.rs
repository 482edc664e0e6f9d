//! The main job (`sparselab run`, also `sparselab` alone) at a tiny size: it
//! prints the table and writes the run folder.

mod common;

use common::{sparselab, stderr, text};

#[test]
fn default_study_writes_run_folder() {
    let dir = common::temp_dir("run-cli", "study");
    let dir_arg = dir.to_str().expect("utf-8 temp path");
    let o = sparselab(&[
        "run",
        "--seq-len",
        "300",
        "--heads",
        "2",
        "--head-dim",
        "32",
        "--quiet",
        "--out-dir",
        dir_arg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("oracle-keys") && stdout.contains("vertical-slash"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.join("recall.csv")).expect("recall.csv");
    assert_eq!(csv.lines().count(), 1 + 15, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("synthetic:llama-like,dense,"));
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(report.contains("| method") && report.contains("300 tokens"), "{report}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ladder_refuses_too_short_sequences() {
    let o = sparselab(&[
        "run",
        "--seq-len",
        "100",
        "--heads",
        "1",
        "--quiet",
        "--out-dir",
        "/nonexistent/never",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--seq-len >= 128"));
}
