//! Dense mode against SCALE-Sim v3, cycle for cycle.
//!
//! `golden/scalesim/` holds SCALE-Sim's own reports for the GEMMs of `gemm_shapes.csv` on six
//! array configurations (8x8, 16x8 and 32x32; OS and WS), produced by
//! `scripts/scalesim/regenerate.sh` (commands in `golden/scalesim/README.md`). This test never
//! runs SCALE-Sim; it diffs the model against the committed files.
//!
//! Conventions: SCALE-Sim's `Total Cycles` is the largest cycle index at which the array
//! touches memory, counting from 0, so it is the cycle count minus one; its `Overall Util %`
//! divides by that index. Compared per shape: cycles (through the full engine with an ideal
//! memory, so buffers and DRAM add nothing, as in SCALE-Sim's bandwidth-estimation mode), stall
//! cycles (0), mapping efficiency, SRAM IFMAP and Filter reads, and (WS) SRAM OFMAP writes.

use sparselab_simulators::accelerator::compute::{self, ArrayShape, Dataflow, GemmDims};
use sparselab_simulators::accelerator::{simulate_gemm, AcceleratorConfig, Effects, Gemm};
use std::path::{Path, PathBuf};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scalesim")
}

/// Rows of a SCALE-Sim CSV (header skipped), fields trimmed, trailing empty field dropped.
fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f: Vec<String> = l.split(',').map(|s| s.trim().to_string()).collect();
            if f.last().is_some_and(String::is_empty) {
                f.pop();
            }
            f
        })
        .collect()
}

/// (rows, cols, dataflow) from a SCALE-Sim config file.
fn read_cfg(path: &Path) -> (u64, u64, Dataflow) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| k.trim() == key)
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("{} has no {key}", path.display()))
    };
    let df = match value("Dataflow").as_str() {
        "os" => Dataflow::OutputStationary,
        "ws" => Dataflow::WeightStationary,
        other => panic!("unexpected dataflow {other}"),
    };
    (
        value("ArrayHeight").parse().unwrap(),
        value("ArrayWidth").parse().unwrap(),
        df,
    )
}

const RUNS: [&str; 6] = ["os_8x8", "ws_8x8", "os_16x8", "ws_16x8", "os_32x32", "ws_32x32"];

#[test]
fn dense_mode_matches_scalesim_cycle_for_cycle() {
    let dir = golden_dir();
    // GEMM topology rows: Layer, M, N, K.
    let shapes: Vec<(String, u64, u64, u64)> = read_csv(&dir.join("gemm_shapes.csv"))
        .into_iter()
        .map(|f| {
            (
                f[0].clone(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    assert!(shapes.len() >= 8, "at least 8 shapes");
    let mut compared = 0;
    for run in RUNS {
        let (rows, cols, dataflow) = read_cfg(&dir.join(format!("configs/{run}.cfg")));
        let compute_report = read_csv(&dir.join(format!("{run}/COMPUTE_REPORT.csv")));
        let access_report = read_csv(&dir.join(format!("{run}/DETAILED_ACCESS_REPORT.csv")));
        assert_eq!(compute_report.len(), shapes.len(), "{run}: one report row per shape");
        let config = AcceleratorConfig::ideal(rows, cols, dataflow);
        for (i, (name, m, n, k)) in shapes.iter().enumerate() {
            let (m, n, k) = (*m, *n, *k);
            let what = format!("{run} {name} (M={m}, N={n}, K={k})");
            let report = &compute_report[i];
            let access = &access_report[i];
            let scalesim_cycles: u64 = report[2].parse().unwrap();
            let scalesim_stalls: u64 = report[3].parse().unwrap();
            let scalesim_mapping: f64 = report[5].parse().unwrap();

            let run_result = simulate_gemm(&Gemm::dense(m, k, n), &config, &Effects::ALL_ON).unwrap();
            assert_eq!(run_result.cycles, (scalesim_cycles + 1) as f64, "{what}: cycles");
            assert_eq!(run_result.stall_cycles, scalesim_stalls as f64, "{what}: stalls");
            assert_eq!(run_result.tiling.dataflow, dataflow, "{what}: dataflow");

            let dims = GemmDims { m, k, kept_k: k, n };
            let c = compute::cost(dims, ArrayShape { rows, cols }, dataflow, false);
            assert_eq!(c.cycles, scalesim_cycles + 1, "{what}: compute model cycles");
            let mapping = c.mapping_efficiency() * 100.0;
            assert!(
                (mapping - scalesim_mapping).abs() < 1e-9 * scalesim_mapping.max(1.0),
                "{what}: mapping {mapping} vs {scalesim_mapping}"
            );
            assert_eq!(c.a_reads, access[3].parse::<u64>().unwrap(), "{what}: SRAM IFMAP reads");
            assert_eq!(
                c.b_reads,
                access[6].parse::<u64>().unwrap(),
                "{what}: SRAM Filter reads"
            );
            if dataflow == Dataflow::WeightStationary {
                assert_eq!(
                    c.c_writes,
                    access[9].parse::<u64>().unwrap(),
                    "{what}: SRAM OFMAP writes"
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, RUNS.len() * shapes.len());
}
