//! `--shard i/n` and `sparselab merge` end to end: the shards of a tiny recall run,
//! merged, compare equal to the unsharded run; mismatched headers and duplicate
//! keys are errors.

mod common;

use common::{sparselab, stderr, text};
use std::path::Path;

const METHODS: &str = "dense,a-shape:sink=16,local=32,block-topk:k=2,block=64,oracle-keys:k=24,oracle-keys:k=48";

fn recall(out: &Path, extra: &[&str]) {
    let mut args = vec![
        "recall",
        "--seq-len",
        "192",
        "--heads",
        "2",
        "--head-dim",
        "32",
        "--methods",
        METHODS,
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = sparselab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let dir = common::temp_dir("merge-cli", "recall");
    let (whole, s0, s1, merged) = (
        dir.join("whole.csv"),
        dir.join("s0.csv"),
        dir.join("s1.csv"),
        dir.join("merged.csv"),
    );
    recall(&whole, &[]);
    recall(&s0, &["--shard", "0/2"]);
    recall(&s1, &["--shard", "1/2"]);
    let rows0 = common::read_csv(&s0);
    assert_eq!(rows0.len(), 3, "methods 0, 2, 4");
    assert_eq!(rows0[1]["method"], "block-topk");
    assert!(
        rows0.iter().all(|r| r["pareto"].is_empty()),
        "a shard cannot know the front"
    );

    // Shards given in reverse order still merge in the unsharded order.
    let o = sparselab(&[
        "merge",
        merged.to_str().unwrap(),
        s1.to_str().unwrap(),
        s0.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text(&o.stdout).contains("merged 5 rows from 2 files"));
    let m = common::read_csv(&merged);
    let w = common::read_csv(&whole);
    let methods = |rows: &[std::collections::HashMap<String, String>]| {
        rows.iter().map(|r| r["method"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(methods(&m), methods(&w));
    assert!(m.iter().any(|r| r["pareto"] == "true") && m.iter().any(|r| r["pareto"] == "false"));

    let o = sparselab(&["compare", whole.to_str().unwrap(), merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), stderr(&o));
    assert!(
        text(&o.stdout).contains("5 rows matched: 0 values changed"),
        "{}",
        text(&o.stdout)
    );
    // More shards than methods: the empty shard adds nothing.
    let (s5, merged5) = (dir.join("s5.csv"), dir.join("merged5.csv"));
    recall(&s5, &["--shard", "5/6"]);
    let o = sparselab(&[
        "merge",
        merged5.to_str().unwrap(),
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        s5.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text(&o.stdout).contains("merged 5 rows from 2 files"),
        "{}",
        text(&o.stdout)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_shards_and_bad_merges_are_errors() {
    let dir = common::temp_dir("merge-cli", "errors");
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "128",
        "--heads",
        "1",
        "--shard",
        "3/2",
        "--quiet",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("3/2 is out of range"), "{}", stderr(&o));

    let (a, b, out) = (dir.join("a.csv"), dir.join("b.csv"), dir.join("out.csv"));
    std::fs::write(&a, "work_index,method,seq_len,density\n0,dense,64,1.0\n").unwrap();
    std::fs::write(&b, "work_index,method,seq_len,recall_mean\n1,a-shape,64,0.5\n").unwrap();
    let o = sparselab(&["merge", out.to_str().unwrap(), a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("b.csv has the header") && e.contains("shards of one run share one header"),
        "{e}"
    );
    assert!(!out.exists(), "nothing written on error");

    let o = sparselab(&["merge", out.to_str().unwrap(), a.to_str().unwrap(), a.to_str().unwrap()]);
    let e = stderr(&o);
    assert!(
        e.contains("duplicate key") && e.contains("method=dense seq_len=64"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pareto_marks_use_the_speedup_column_and_skip_empty_cells() {
    // Two shards of one workload: `speedup` is what the marks use (measured where a GPU timed the row,
    // else predicted); a row without one (no model ran) is never on the front.
    let dir = common::temp_dir("merge-cli", "pareto");
    let header = "work_index,workload,method,seq_len,work_speedup,speedup,speedup_source,recall_mean,pareto\n";
    let (a, b, out) = (dir.join("a.csv"), dir.join("b.csv"), dir.join("out.csv"));
    std::fs::write(
        &a,
        format!("{header}0,w,dense,64,1.0,1.0,measured,1.0,\n2,w,x,64,9.0,1.5,measured,0.9,\n"),
    )
    .unwrap();
    std::fs::write(
        &b,
        format!("{header}1,w,y,64,1.0,2.0,measured,0.95,\n3,w,z,64,9.0,,,0.99,\n"),
    )
    .unwrap();
    let o = sparselab(&["merge", out.to_str().unwrap(), a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = common::read_csv(&out);
    let marks: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["method"].as_str(), r["pareto"].as_str()))
        .collect();
    // x has the larger work_speedup but is beaten on `speedup` by y; z has no speedup.
    assert_eq!(
        marks,
        [("dense", "true"), ("y", "true"), ("x", "false"), ("z", "false")]
    );
    std::fs::remove_dir_all(&dir).ok();
}
