//! The main job (`sparselab run`, also `sparselab` alone) at a tiny size: it
//! prints the table and writes the run folder.

mod common;

use common::{sparselab, stderr, text};

#[test]
fn default_study_writes_run_folder() {
    let dir = std::env::temp_dir().join(format!("sparselab-run-cli-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_sparselab"))
        .args([
            "run",
            "--seq-len",
            "300",
            "--heads",
            "2",
            "--head-dim",
            "32",
            "--quiet",
            "--out-dir",
        ])
        .arg(&dir)
        .output()
        .expect("sparselab runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
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
    let o = Command::new(env!("CARGO_BIN_EXE_sparselab"))
        .args([
            "run",
            "--seq-len",
            "100",
            "--heads",
            "1",
            "--quiet",
            "--out-dir",
            "/nonexistent/never",
        ])
        .output()
        .expect("sparselab runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--seq-len >= 128"));
}
