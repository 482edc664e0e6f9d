//! End-to-end tests of `sparselab recall`: the table, the CSV, and the errors a
//! user sees for bad input.

mod common;

use common::{sparselab, stderr};
use std::path::PathBuf;
use std::sync::OnceLock;

/// One folder for this file's tests (created once, so parallel tests share it).
fn temp_path(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::temp_dir("recall-cli", "")).join(name)
}

#[test]
fn writes_table_and_csv_with_dense_exact() {
    let out = temp_path("small.csv");
    let o = sparselab(&[
        "recall",
        "--profile",
        "streaming",
        "--seq-len",
        "1000",
        "--heads",
        "4",
        "--kv-heads",
        "2",
        "--head-dim",
        "64",
        "--methods",
        "dense,a-shape:sink=4,local=64,oracle-keys:k=68",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("| method") && stdout.contains("a-shape"), "{stdout}");

    let mut reader = csv::Reader::from_path(&out).expect("csv written");
    let headers = reader.headers().unwrap().clone();
    for column in [
        "method",
        "params",
        "seq_len",
        "heads",
        "head_dim",
        "density",
        "recall_mean",
        "recall_min",
        "out_rel_err",
        "est_flops",
        "seed",
        "git_commit",
        "device",
        "date",
    ] {
        assert!(
            headers.iter().any(|h| h == column),
            "missing column {column}: {headers:?}"
        );
    }
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    let num = |r: &csv::StringRecord, c: &str| r[col(c)].parse::<f64>().unwrap();
    let dense = &rows[0];
    assert_eq!(&dense[col("method")], "dense");
    assert!((num(dense, "recall_mean") - 1.0).abs() < 1e-12);
    assert!((num(dense, "recall_min") - 1.0).abs() < 1e-12);
    assert!(num(dense, "out_rel_err") < 1e-12);
    let ashape = &rows[1];
    assert_eq!(&ashape[col("params")], "sink=4,local=64");
    assert!(num(ashape, "recall_mean") < 1.0 && num(ashape, "recall_mean") > 0.5);
    assert!(
        num(ashape, "density") < 0.6,
        "tile-rounded sink + window at 1000 tokens"
    );
    // The oracle with the same keys per row as the A-shape's widest row keeps at least as much.
    assert!(num(&rows[2], "recall_mean") >= num(ashape, "recall_mean") - 1e-9);
}

#[test]
fn unknown_method_lists_known_ones() {
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "128",
        "--heads",
        "1",
        "--methods",
        "dense,minference",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("unknown method `minference`") && e.contains("vertical-slash"),
        "{e}"
    );
}

#[test]
fn bad_parameter_is_named() {
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "128",
        "--heads",
        "1",
        "--methods",
        "block-topk:k=abc",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("`k`"), "{}", stderr(&o));
}

#[test]
fn budget_larger_than_sequence_is_an_error() {
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "256",
        "--heads",
        "1",
        "--head-dim",
        "32",
        "--methods",
        "a-shape:sink=4,local=5000",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("5000") && e.contains("256"), "{e}");
}

#[test]
fn unknown_profile_and_zero_heads_are_errors() {
    let o = sparselab(&[
        "recall",
        "--profile",
        "sparse-everything",
        "--seq-len",
        "128",
        "--methods",
        "dense",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("sparse-everything") && stderr(&o).contains("vertical-slash"),
        "{}",
        stderr(&o)
    );
    let o = sparselab(&["recall", "--heads", "0", "--seq-len", "128", "--methods", "dense"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("heads"), "{}", stderr(&o));
}

#[test]
fn failed_run_leaves_earlier_csv_untouched() {
    let out = temp_path("keep.csv");
    std::fs::write(&out, "earlier results\n").unwrap();
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "128",
        "--heads",
        "1",
        "--methods",
        "nonsense",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier results\n");
}

/// Writes a little-endian f32 `.npy` (format 1.0) of `shape`.
fn write_npy(path: &std::path::Path, shape: &[usize], data: &[f32]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for x in data {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn from_file_runs_on_saved_tensors() {
    let file = temp_path("saved.safetensors");
    let o = sparselab(&[
        "workloads",
        "save",
        "--profile",
        "vertical-slash",
        "--seq-len",
        "700",
        "--heads",
        "4",
        "--kv-heads",
        "2",
        "--head-dim",
        "64",
        "--dtype",
        "bf16",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sparselab(&[
        "recall",
        "--from-file",
        file.to_str().unwrap(),
        "--methods",
        "dense,a-shape:sink=4,local=128",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("700 tokens, 4 heads (2 kv), head dim 64"), "{stdout}");
}

#[test]
fn nan_in_a_users_file_is_named() {
    let dir = temp_path("nan_qkv");
    std::fs::create_dir_all(&dir).unwrap();
    let n = 2 * 80 * 16;
    let values: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
    let mut k = values.clone();
    k[80 * 16 + 5 * 16 + 3] = f32::NAN;
    write_npy(&dir.join("q.npy"), &[2, 80, 16], &values);
    write_npy(&dir.join("k.npy"), &[2, 80, 16], &k);
    write_npy(&dir.join("v.npy"), &[2, 80, 16], &values);
    let o = sparselab(&[
        "recall",
        "--from-file",
        dir.to_str().unwrap(),
        "--methods",
        "dense",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("NaN") && e.contains("head 1, row 5, column 3"), "{e}");
}

#[test]
fn mismatched_shapes_in_a_users_file_are_named() {
    let dir = temp_path("bad_qkv");
    std::fs::create_dir_all(&dir).unwrap();
    let values: Vec<f32> = (0..2 * 80 * 16).map(|i| (i % 13) as f32 * 0.1).collect();
    write_npy(&dir.join("q.npy"), &[2, 80, 16], &values);
    write_npy(&dir.join("k.npy"), &[2, 40, 16], &values[..2 * 40 * 16]);
    write_npy(&dir.join("v.npy"), &[2, 40, 16], &values[..2 * 40 * 16]);
    let o = sparselab(&[
        "recall",
        "--from-file",
        dir.to_str().unwrap(),
        "--methods",
        "dense",
        "--quiet",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("k.npy") || e.contains("K has shape"), "{e}");
}

#[test]
fn capped_default_budget_is_recorded_with_what_ran() {
    let out = temp_path("capped.csv");
    let o = sparselab(&[
        "recall",
        "--seq-len",
        "1500",
        "--heads",
        "1",
        "--head-dim",
        "32",
        "--methods",
        "vertical-slash",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("v=1000,s=1500 (default v=1000,s=6096 capped)"));
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let get = |c: &str| row[headers.iter().position(|h| h == c).unwrap()].to_string();
    assert_eq!(get("params"), "v=1000,s=6096");
    assert_eq!(get("params_used"), "v=1000,s=1500");
}
