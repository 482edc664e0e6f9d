//! The main job (`sparselab run`, also `sparselab` alone) at a tiny size: it
//! prints the recall-versus-speed table (work proxy, roofline, accelerator model)
//! with Pareto marks on the predicted speed and writes the run folder (CSV, report,
//! recall-versus-speedup charts as SVG and PNG); its shards merge to the same CSV.

mod common;

use common::{sparselab, stderr, text};

#[test]
fn default_study_writes_run_folder() {
    let dir = common::temp_dir("run-cli", "study");
    let dir_arg = dir.to_str().expect("utf-8 temp path");
    let o = sparselab(&[
        "run",
        "--seq-len",
        "256,512",
        "--heads",
        "2",
        "--head-dim",
        "32",
        "--task-len",
        "512",
        "--no-gpu",
        "--quiet",
        "--out-dir",
        dir_arg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Task accuracy beside recall: MQAR under every method's mask, dense solves it.
    let tasks = common::read_csv(&dir.join("tasks.csv"));
    let dense_all = tasks
        .iter()
        .find(|r| r["method"] == "dense" && r["distance"] == "all")
        .expect("dense MQAR row");
    assert_eq!(dense_all["accuracy"], "1.0");
    assert_eq!(dense_all["seq_len"], "512");
    assert!(
        tasks.iter().any(|r| r["method"] == "a-shape"),
        "every ladder method is scored"
    );
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(report.contains("MQAR task accuracy | 512 tokens"), "{report}");
    assert!(
        stderr(&o).contains("--no-gpu: speed predicted by the roofline (h100 preset) and the accelerator model"),
        "the speed source is said, never silently: {}",
        stderr(&o)
    );
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("oracle-keys") && stdout.contains("vertical-slash"),
        "{stdout}"
    );
    assert!(stdout.contains("| pareto") && stdout.contains("| *"), "{stdout}");
    assert!(
        stdout.contains("| predicted speedup") && stdout.contains("| accel speedup"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.join("recall.csv")).expect("recall.csv");
    assert_eq!(csv.lines().count(), 1 + 2 * 15, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("0,synthetic:llama-like,dense,"));
    let rows = common::read_csv(&dir.join("recall.csv"));
    for column in [
        "work_speedup",
        "predicted_ms",
        "predicted_speedup",
        "accel_speedup",
        "measured_ms",
        "measured_speedup",
        "speedup",
        "speedup_source",
    ] {
        assert!(rows[0].contains_key(column), "missing column {column}");
    }
    let num = |r: &std::collections::HashMap<String, String>, c: &str| -> f64 {
        r[c].parse().unwrap_or_else(|_| panic!("{c} = `{}` is a number", r[c]))
    };
    for dense in rows.iter().filter(|r| r["method"] == "dense") {
        assert_eq!(dense["work_speedup"], "1.0");
        assert_eq!(dense["predicted_speedup"], "1.0", "dense over itself on the same model");
        assert_eq!(dense["accel_speedup"], "1.0");
        assert!(num(dense, "predicted_ms") > 0.0);
        assert_eq!(
            dense["pareto"], "true",
            "nothing beats dense's recall of 1 at equal or more speed"
        );
    }
    // Without a GPU nothing is measured, and the Pareto marks use the predicted speedup.
    assert!(rows
        .iter()
        .all(|r| r["measured_ms"].is_empty() && r["measured_speedup"].is_empty()));
    assert!(rows
        .iter()
        .all(|r| r["speedup_source"] == "predicted" && r["speedup"] == r["predicted_speedup"]));
    assert!(rows.iter().any(|r| r["pareto"] == "false"));
    for len in ["256", "512"] {
        let group: Vec<_> = rows.iter().filter(|r| r["seq_len"] == len).collect();
        for r in &group {
            let beaten = group.iter().any(|q| {
                let (qr, qs, rr, rs) = (
                    num(q, "recall_mean"),
                    num(q, "speedup"),
                    num(r, "recall_mean"),
                    num(r, "speedup"),
                );
                qr >= rr && qs >= rs && (qr > rr || qs > rs)
            });
            assert_eq!(r["pareto"] == "true", !beaten, "{len} {} {}", r["method"], r["params"]);
        }
    }
    // A sparse method beats dense on the roofline at the largest length.
    let best = rows
        .iter()
        .filter(|r| r["seq_len"] == "512" && r["method"] != "dense")
        .map(|r| num(r, "predicted_speedup"))
        .fold(0.0, f64::max);
    assert!(best > 1.0, "best sparse predicted speedup at 512 tokens: {best}");
    assert!(rows
        .iter()
        .any(|r| r["method"] == "a-shape" && num(r, "accel_speedup") > 1.0));

    let report = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(report.contains("| method") && report.contains("512 tokens"), "{report}");
    assert!(report.contains("(recall-vs-speedup-512.svg)"), "{report}");
    assert!(
        report.contains("h100 preset, kernel model sparselab") && report.contains("predicted speedup"),
        "{report}"
    );

    let svg = std::fs::read_to_string(dir.join("recall-vs-speedup-512.svg")).expect("chart SVG");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches('<').count(), svg.matches('>').count(), "balanced tags");
    assert!(svg.contains("predicted speedup"), "the axis says which speedup");
    let methods: std::collections::BTreeSet<&str> = rows.iter().map(|r| r["method"].as_str()).collect();
    assert_eq!(svg.matches("<path ").count(), methods.len(), "one line per method");
    for m in &methods {
        assert!(svg.contains(&format!(">{m}</text>")), "legend names {m}");
    }
    let png = std::fs::read(dir.join("recall-vs-speedup-512.png")).expect("chart PNG");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    let svg_size = format!(r#"width="{width}" height="{height}""#);
    assert!(svg.contains(&svg_size), "PNG {width}x{height} matches the SVG");
    assert!(width >= 400 && height >= 300);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn shards_of_the_study_merge_to_the_whole() {
    let dir = common::temp_dir("run-cli", "shards");
    let run = |name: &str, shard: &str| {
        let out = dir.join(name);
        let o = sparselab(&[
            "run",
            "--seq-len",
            "128,192",
            "--heads",
            "1",
            "--head-dim",
            "32",
            "--methods",
            "dense,a-shape:sink=16,local=32,oracle-keys:k=16",
            "--quiet",
            "--no-gpu",
            "--shard",
            shard,
            "--out-dir",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        out.join("recall.csv")
    };
    let whole = run("whole", "0/1");
    let parts = [run("s0", "0/3"), run("s1", "1/3"), run("s2", "2/3")];
    assert!(
        !dir.join("s0/recall-vs-speedup-128.svg").exists(),
        "a shard draws no chart"
    );
    assert_eq!(common::read_csv(&parts[0]).len(), 2, "items 0 and 3 of 6");
    let merged = dir.join("merged.csv");
    let mut args = vec!["merge", merged.to_str().unwrap()];
    args.extend(parts.iter().map(|p| p.to_str().unwrap()));
    let o = sparselab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sparselab(&["compare", whole.to_str().unwrap(), merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), stderr(&o));
    assert!(text(&o.stdout).contains("6 rows matched: 0 values changed"));
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

#[test]
fn speed_source_is_said_and_used() {
    // Without --no-gpu: on a machine without a GPU the run says so; with one, dense and the A-shape
    // (streaming kernel) are timed and the Pareto marks use the measured speedup.
    let dir = common::temp_dir("run-cli", "gpu");
    let o = sparselab(&[
        "run",
        "--seq-len",
        "256",
        "--heads",
        "2",
        "--head-dim",
        "64",
        "--methods",
        "dense,a-shape:sink=16,local=64,oracle-keys:k=32",
        "--task-len",
        "0",
        "--quiet",
        "--out-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let rows = common::read_csv(&dir.join("recall.csv"));
    if err.contains("no GPU: speed predicted by the roofline (h100 preset) and the accelerator model") {
        assert!(rows.iter().all(|r| r["speedup_source"] == "predicted"));
    } else {
        assert!(err.contains("speed measured with our CUDA kernels"), "{err}");
        for r in &rows[..2] {
            assert!(!r["measured_ms"].is_empty(), "{} timed: {r:?}", r["method"]);
            assert_eq!(r["speedup_source"], "measured");
        }
        assert_eq!(rows[0]["measured_speedup"], "1.0");
        assert!(rows[2]["measured_ms"].is_empty(), "key lists have no GPU kernel");
        assert!(
            err.contains("measured_ms left empty for key-list masks: no GPU kernel for the key-list format"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
