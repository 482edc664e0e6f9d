//! Comparison on hand-made and seeded tables: a planted slowdown is caught, a re-run
//! passes, a changed deterministic value fails.

use super::*;
use sparselab_workloads::SeededRng;
use std::path::Path;

/// `n` samples around `mean` ms with relative noise `noise` (Gaussian), from `seed`.
fn samples(seed: u64, n: usize, mean: f64, noise: f64) -> String {
    let mut rng = SeededRng::new(seed, 7);
    (0..n)
        .map(|_| format!("{:.6}", mean * (1.0 + noise * rng.normal())))
        .collect::<Vec<_>>()
        .join(";")
}

fn timing_csv(name: &str, seed: u64, scale: f64) -> CsvTable {
    let mut text = String::from("method,params,seq_len,kernel_ms,samples_ms,git_commit\n");
    for (i, (m, ms)) in [("dense", 10.0), ("block-sparse", 2.0)].iter().enumerate() {
        let s = samples(seed * 10 + i as u64, 30, ms * scale, 0.01);
        text.push_str(&format!("{m},w4m1,4096,{ms},{s},abc{seed}\n"));
    }
    CsvTable::parse(Path::new(name), text.as_bytes()).unwrap()
}

#[test]
fn planted_ten_percent_slowdown_is_caught() {
    let base = timing_csv("base.csv", 1, 1.0);
    let new = timing_csv("new.csv", 2, 1.10);
    let c = compare(&base, &new, &Options::default()).unwrap();
    assert_eq!(c.mode, Mode::Timing);
    assert_eq!(c.key_columns, ["method", "params", "seq_len"]);
    assert_eq!(c.count(Verdict::Slower), 2, "{c:?}");
    assert!(c.failed());
    let f = &c.findings[0];
    assert!((f.change.unwrap() - 0.10).abs() < 0.02 && f.p.unwrap() < 1e-6, "{f:?}");
    let text = report::render(&c, &Options::default(), "base.csv", "new.csv");
    assert!(text.contains("SLOWER") && text.contains("FAIL"), "{text}");
}

#[test]
fn rerun_of_the_same_distribution_passes() {
    let base = timing_csv("base.csv", 1, 1.0);
    let new = timing_csv("new.csv", 3, 1.0);
    let c = compare(&base, &new, &Options::default()).unwrap();
    assert_eq!(c.count(Verdict::Slower), 0, "{c:?}");
    assert!(!c.failed());
}

#[test]
fn small_significant_change_is_below_the_minimum_effect() {
    // 2% slower with 1% noise and 30 samples is significant but under 5%.
    let c = compare(
        &timing_csv("b.csv", 1, 1.0),
        &timing_csv("n.csv", 4, 1.02),
        &Options::default(),
    )
    .unwrap();
    assert!(!c.failed());
    assert!(c.findings.iter().all(|f| f.verdict == Verdict::Unchanged), "{c:?}");
    assert!(c.findings.iter().any(|f| f.note.contains("below the minimum effect")));
    // With a 1% minimum effect the same change fails.
    let strict = Options {
        min_effect: 0.01,
        ..Options::default()
    };
    assert!(
        compare(&timing_csv("b.csv", 1, 1.0), &timing_csv("n.csv", 4, 1.02), &strict)
            .unwrap()
            .failed()
    );
}

#[test]
fn rows_without_samples_compare_medians_untested() {
    let base = CsvTable::parse(Path::new("b.csv"), b"method,kernel_ms,samples_ms\ndense,1.0,\n").unwrap();
    let new = CsvTable::parse(Path::new("n.csv"), b"method,kernel_ms,samples_ms\ndense,2.0,\n").unwrap();
    let c = compare(&base, &new, &Options::default()).unwrap();
    assert_eq!(c.findings[0].verdict, Verdict::Untested);
    assert_eq!(c.findings[0].change, Some(1.0));
    assert!(c.findings[0].note.contains("no test possible"));
    assert!(!c.failed(), "no test, no significant slowdown");
}

#[test]
fn bad_samples_name_file_and_line() {
    let base = CsvTable::parse(Path::new("b.csv"), b"method,samples_ms\ndense,1;2\nx,1;oops\n").unwrap();
    let e = compare(&base, &base, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("b.csv line 3") && e.contains("`oops`"), "{e}");
}

const RECALL: &str = "work_index,method,params,seq_len,density,recall_mean,select_cpu_ms,git_commit,date\n\
    0,dense,,256,1.0,1.0,0.1,aaa,2026-01-01\n\
    1,a-shape,sink=4,256,0.5,0.75,0.2,aaa,2026-01-01\n";

#[test]
fn exact_compare_ignores_provenance_and_wall_times() {
    let base = CsvTable::parse(Path::new("b.csv"), RECALL.as_bytes()).unwrap();
    let rerun = RECALL.replace("aaa", "bbb").replace("0.2,", "0.9,");
    let new = CsvTable::parse(Path::new("n.csv"), rerun.as_bytes()).unwrap();
    let c = compare(&base, &new, &Options::default()).unwrap();
    assert_eq!(c.mode, Mode::Exact);
    assert_eq!(c.matched, 2);
    assert!(!c.failed(), "{c:?}");
}

#[test]
fn exact_compare_catches_a_changed_recall() {
    let base = CsvTable::parse(Path::new("b.csv"), RECALL.as_bytes()).unwrap();
    let changed = RECALL.replace("0.5,0.75", "0.5,0.7500001");
    let new = CsvTable::parse(Path::new("n.csv"), changed.as_bytes()).unwrap();
    let c = compare(&base, &new, &Options::default()).unwrap();
    assert!(c.failed());
    assert_eq!(c.findings.len(), 1);
    assert_eq!(c.findings[0].column, "recall_mean");
    let text = report::render(&c, &Options::default(), "b.csv", "n.csv");
    assert!(text.contains("method=a-shape") && text.contains("CHANGED"), "{text}");
    // Within a relative tolerance it passes.
    let loose = Options {
        rel_tol: 1e-6,
        ..Options::default()
    };
    let c = compare(&base, &new, &loose).unwrap();
    assert!(!c.failed() && c.within_tolerance == 1);
}

#[test]
fn exact_compare_reports_rows_and_columns_in_one_file() {
    let base = CsvTable::parse(Path::new("b.csv"), RECALL.as_bytes()).unwrap();
    let fewer = "work_index,method,params,seq_len,density,git_commit\n0,dense,,256,1.0,x\n";
    let new = CsvTable::parse(Path::new("n.csv"), fewer.as_bytes()).unwrap();
    let c = compare(&base, &new, &Options::default()).unwrap();
    assert_eq!(c.only_base.len(), 1);
    assert_eq!(c.columns_only_base, ["recall_mean"]);
    assert!(c.failed());
    let text = report::render(&c, &Options::default(), "b.csv", "n.csv");
    assert!(text.contains("rows only in b.csv (1)") && text.contains("columns only in b.csv: recall_mean"));
}

#[test]
fn explicit_key_and_missing_key_column() {
    let base = CsvTable::parse(Path::new("b.csv"), RECALL.as_bytes()).unwrap();
    let opts = Options {
        key: Some(vec!["method".into(), "device".into()]),
        ..Options::default()
    };
    let e = compare(&base, &base, &opts).unwrap_err().to_string();
    assert!(e.contains("b.csv has no column `device`"), "{e}");
    let by_seq = Options {
        key: Some(vec!["seq_len".into()]),
        ..Options::default()
    };
    let e = compare(&base, &base, &by_seq).unwrap_err().to_string();
    assert!(e.contains("duplicate key in b.csv line 3"), "{e}");
}

#[test]
fn exact_option_compares_predicted_times_as_written() {
    // A model's output with a `kernel_ms` column and no samples: a timing file by default (medians,
    // untested), deterministic output with `exact`.
    let text = |ms: &str| format!("method,seq_len,kernel_ms\ndense,4096,{ms}\n");
    let base = CsvTable::parse(Path::new("b.csv"), text("1.25").as_bytes()).unwrap();
    let new = CsvTable::parse(Path::new("n.csv"), text("1.2500001").as_bytes()).unwrap();
    assert!(!compare(&base, &new, &Options::default()).unwrap().failed());
    let exact = Options {
        exact: true,
        ..Options::default()
    };
    let c = compare(&base, &new, &exact).unwrap();
    assert_eq!(c.mode, Mode::Exact);
    assert!(c.failed() && c.findings[0].column == "kernel_ms", "{c:?}");
    assert!(!compare(&base, &base, &exact).unwrap().failed());
}
