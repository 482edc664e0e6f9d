//! `sparselab compare` end to end: a planted 10% slowdown in recorded samples
//! fails with exit code 1, a re-run of the same distribution passes (exit 0), a
//! changed recall value fails (1), malformed input is an error naming the file and
//! line (exit 2, as is every other error).

mod common;

use common::{sparselab, stderr, text};
use sparselab_workloads::SeededRng;
use std::path::Path;

/// A timing CSV in `sparselab bench`'s shape: 30 samples per row with 1% Gaussian noise around each
/// kernel's time times `scale`.
fn write_timings(path: &Path, seed: u64, scale: f64) {
    let mut rng = SeededRng::new(seed, 0);
    let mut csv =
        String::from("method,params,seq_len,heads,head_dim,causal,kernel_ms,samples_ms,git_commit,date,device\n");
    for (method, params, ms) in [("dense", "w4m1", 3.2), ("block-sparse", "w4m1,block=128,d=0.1", 0.41)] {
        let samples: Vec<String> = (0..30)
            .map(|_| format!("{:.5}", ms * scale * (1.0 + 0.01 * rng.normal())))
            .collect();
        csv.push_str(&format!(
            "{method},\"{params}\",4096,32,128,true,{ms},{},c0ffee{seed},2026-11-23T00:00:00Z,NVIDIA H100\n",
            samples.join(";")
        ));
    }
    std::fs::write(path, csv).expect("write timings");
}

fn compare(base: &Path, new: &Path) -> std::process::Output {
    sparselab(&["compare", base.to_str().unwrap(), new.to_str().unwrap()])
}

#[test]
fn planted_slowdown_fails_and_rerun_passes() {
    let dir = common::temp_dir("compare-cli", "timing");
    let (base, slow, rerun) = (dir.join("base.csv"), dir.join("slow.csv"), dir.join("rerun.csv"));
    write_timings(&base, 1, 1.0);
    write_timings(&slow, 2, 1.10);
    write_timings(&rerun, 3, 1.0);

    let o = compare(&base, &slow);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = text(&o.stdout);
    assert!(out.contains("SLOWER") && out.contains("2 slower"), "{out}");
    assert!(out.contains("method=dense") && out.contains("| change %"), "{out}");

    let o = compare(&base, &rerun);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), stderr(&o));
    assert!(text(&o.stdout).contains("0 slower"));

    // A bigger minimum effect lets the 10% slowdown through.
    let o = sparselab(&[
        "compare",
        base.to_str().unwrap(),
        slow.to_str().unwrap(),
        "--min-effect",
        "0.2",
    ]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn changed_recall_value_fails_exact_compare() {
    let dir = common::temp_dir("compare-cli", "exact");
    let base = dir.join("recall.csv");
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "192",
        "--heads",
        "2",
        "--head-dim",
        "32",
        "--methods",
        "dense,a-shape:sink=16,local=32,oracle-keys:k=24",
        "--quiet",
        "--out",
        base.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The same run again (new date, new select_cpu_ms) compares equal.
    let again = dir.join("again.csv");
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "192",
        "--heads",
        "2",
        "--head-dim",
        "32",
        "--methods",
        "dense,a-shape:sink=16,local=32,oracle-keys:k=24",
        "--quiet",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = compare(&base, &again);
    assert!(o.status.success(), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("3 rows matched: 0 values changed"),
        "{}",
        text(&o.stdout)
    );

    // Change one recall value by one unit in the last printed digit.
    let rows = common::read_csv(&base);
    let old = rows[1]["recall_mean"].clone();
    let body = std::fs::read_to_string(&base).unwrap();
    let changed = dir.join("changed.csv");
    let new_value = format!("{}", old.parse::<f64>().unwrap() * (1.0 - 1e-9));
    std::fs::write(&changed, body.replacen(&old, &new_value, 1)).unwrap();
    let o = compare(&base, &changed);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("recall_mean") && out.contains("CHANGED") && out.contains("a-shape"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn malformed_inputs_are_errors_naming_file_and_line() {
    let dir = common::temp_dir("compare-cli", "errors");
    let good = dir.join("good.csv");
    std::fs::write(&good, "method,seq_len,density\ndense,64,1.0\n").unwrap();
    let short = dir.join("short.csv");
    std::fs::write(&short, "method,seq_len,density\ndense,64,1.0\nx,1\n").unwrap();
    let o = compare(&good, &short);
    assert_eq!(o.status.code(), Some(2), "an error, not a regression: {}", stderr(&o));
    assert!(stderr(&o).contains("short.csv line 3"), "{}", stderr(&o));

    let dup = dir.join("dup.csv");
    std::fs::write(&dup, "method,seq_len,density\ndense,64,1.0\ndense,64,0.5\n").unwrap();
    let o = compare(&good, &dup);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("duplicate key in") && e.contains("dup.csv line 3"), "{e}");

    // A timing sample that is not a number.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "method,seq_len,kernel_ms,samples_ms\ndense,64,1.5,1;fast\n").unwrap();
    let timing = dir.join("timing.csv");
    std::fs::write(&timing, "method,seq_len,kernel_ms,samples_ms\ndense,64,1.5,1;2\n").unwrap();
    let o = compare(&timing, &bad);
    assert_eq!(o.status.code(), Some(2), "{}{}", text(&o.stdout), stderr(&o));

    let o = sparselab(&[
        "compare",
        good.to_str().unwrap(),
        good.to_str().unwrap(),
        "--key",
        "device",
    ]);
    assert_eq!(o.status.code(), Some(2), "a missing key column");
    assert!(stderr(&o).contains("has no column `device`"), "{}", stderr(&o));

    let o = compare(&good, &dir.join("missing.csv"));
    assert_eq!(o.status.code(), Some(2), "an unreadable file");
    assert!(stderr(&o).contains("cannot read") && stderr(&o).contains("missing.csv"));

    let o = sparselab(&[
        "compare",
        good.to_str().unwrap(),
        good.to_str().unwrap(),
        "--alpha",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2), "a bad option");
    assert!(stderr(&o).contains("--alpha must be in (0, 1), got 2"));

    // Identical files: no regression, exit 0.
    assert_eq!(compare(&good, &good).status.code(), Some(0));
    let o = sparselab(&["compare", "--help"]);
    assert!(
        text(&o.stdout).contains("Exit codes: 0 = no regression; 1 ="),
        "{}",
        text(&o.stdout)
    );
    std::fs::remove_dir_all(&dir).ok();
}
