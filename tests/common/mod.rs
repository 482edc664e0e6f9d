//! Helpers shared by the end-to-end tests: running the binary, fresh temporary
//! folders, reading the CSVs it writes. Each test file uses a subset.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `sparselab` binary with `args` and returns its output.
pub fn sparselab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparselab"))
        .args(args)
        .output()
        .expect("the sparselab binary runs")
}

/// A fresh, empty folder for `suite` and `name`, unique to this process.
pub fn temp_dir(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sparselab-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Bytes as lossy UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The standard error of a run.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// The rows of a CSV as maps from column name to field.
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("CSV written");
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("well-formed row");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
