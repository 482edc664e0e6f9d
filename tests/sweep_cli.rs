//! End-to-end tests of `sparselab sweep`: GPU (roofline) and accelerator what-ifs, sharded runs
//! merged back equal to the unsharded run, and the errors a user sees for bad axes.

mod common;

use common::{read_csv, sparselab, stderr, temp_dir, text};
use std::path::Path;

fn run_ok(args: &[&str]) -> String {
    let o = sparselab(args);
    assert!(o.status.success(), "sparselab {}: {}", args.join(" "), stderr(&o));
    text(&o.stdout)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn gpu_sweep_shards_merge_back_to_the_unsharded_run() {
    let dir = temp_dir("sweep-cli", "gpu");
    let (whole, s0, s1, merged) = (
        dir.join("whole.csv"),
        dir.join("s0.csv"),
        dir.join("s1.csv"),
        dir.join("m.csv"),
    );
    let base = [
        "sweep",
        "--hardware",
        "h100",
        "--vary",
        "bandwidth=0.5,2",
        "--vary",
        "flops=1,2",
        "--seq-len",
        "16384,131072",
        "--methods",
        "dense,vertical-slash:v=1000,s=6096",
    ];
    let stdout = run_ok(&[&base[..], &["--out", p(&whole)]].concat());
    assert!(stdout.contains("bandwidth=0.5;flops=1"), "{stdout}");
    // The chart lands next to the CSV: one line per method and length and per flops value.
    let svg = std::fs::read_to_string(whole.with_extension("svg")).unwrap();
    assert_eq!(svg.matches("<path").count(), 2 * 2 * 2, "{svg}");
    let png = std::fs::read(whole.with_extension("png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    run_ok(&[&base[..], &["--shard", "0/2", "--out", p(&s0)]].concat());
    run_ok(&[&base[..], &["--shard", "1/2", "--out", p(&s1)]].concat());
    assert_eq!(read_csv(&s0).len() + read_csv(&s1).len(), 4 * 2 * 2);
    run_ok(&["merge", p(&merged), p(&s1), p(&s0)]);
    run_ok(&["compare", p(&whole), p(&merged)]);

    let rows = read_csv(&whole);
    let speedup = |point: &str, method: &str, len: &str| -> f64 {
        rows.iter()
            .find(|r| r["point"] == point && r["method"] == method && r["seq_len"] == len)
            .unwrap()["speedup_vs_dense"]
            .parse()
            .unwrap()
    };
    assert_eq!(speedup("bandwidth=2;flops=2", "dense", "131072"), 1.0);
    assert!(
        speedup("bandwidth=2;flops=2", "vertical-slash", "131072") > 2.0,
        "VS wins at 128k"
    );
    let time = |point: &str| -> f64 {
        rows.iter()
            .find(|r| r["point"] == point && r["method"] == "dense" && r["seq_len"] == "131072")
            .unwrap()["predicted_ms"]
            .parse()
            .unwrap()
    };
    assert!(
        time("bandwidth=0.5;flops=2") < 0.6 * time("bandwidth=0.5;flops=1"),
        "dense is compute bound"
    );
}

#[test]
fn accelerator_sweep_varies_the_array_and_the_ratio() {
    let out = temp_dir("sweep-cli", "acc").join("acc.csv");
    let stdout = run_ok(&[
        "sweep",
        "--vary",
        "array=16,32",
        "--vary",
        "nm=2:4,2:8",
        "--model",
        "bert-layer",
        "--batch",
        "2",
        "--seq",
        "64",
        "--out",
        p(&out),
    ]);
    assert!(stdout.contains("array=16;nm=2:8"), "{stdout}");
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["array_shape"], "16x16");
    for r in &rows {
        let s: f64 = r["speedup_vs_dense"].parse().unwrap();
        assert!(s > 1.0 && s <= 2.0 + 1e-9, "{s}");
    }
}

#[test]
fn bad_axes_and_shards_are_clear_errors() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["sweep", "--hardware", "h100", "--vary", "array=32"],
            "unknown parameter `array`",
        ),
        (&["sweep", "--vary", "flops=2"], "unknown parameter `flops`"),
        (&["sweep", "--vary", "array=0"], "array"),
        (&["sweep", "--shard", "2/2"], "out of range"),
    ];
    for (args, needle) in cases {
        let o = sparselab(args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}
