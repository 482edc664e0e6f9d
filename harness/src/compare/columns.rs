//! What each column of a result CSV is, decided from its name alone so that
//! `compare` and `merge` agree on every file our commands write.
//!
//! The rule, in order:
//! 1. **provenance** (`git_commit`, `date`, `time`, `host`, `hostname`, `driver`, `cuda`, `sms`, `clocks`):
//!    where and when a row was produced; never part of the key, never compared.
//! 2. **samples** (`samples_ms`): the `;`-separated timing samples. A file with this column, or with a
//!    measured median (`median_ms`, `kernel_ms`), is a timing file.
//! 3. **order** (`work_index`): a row's position in the unsharded work list; orders merged shards, is not
//!    part of the key (adding a method would shift every later index).
//! 4. **unstable**: wall times recorded without samples (`*_cpu_ms`, `*_wall_ms`, e.g. `select_cpu_ms`):
//!    they differ on every run and cannot be compared exactly, so they are skipped.
//! 5. **measurement**: what a row reports: names with a unit or metric suffix (`_ms`, `_us`, `_s`, `_flops`,
//!    `_bytes`, `_cycles`, `_uj`, `_err`, `_density`, `_speedup`, `_gbps`, `_pct`, `_ratio`), a metric prefix
//!    (`recall`, `tflops`, `speedup`, `energy`, `accuracy`, `predicted`, `measured`), or one of `density`,
//!    `util`, `macs`, `cycles`, `pareto`, `interleaved`, `dataflow`, `score`.
//! 6. **key**: everything else: what was run and where (method, params, params_used, seq_len, heads,
//!    head_dim, causal, seed, workload, model, layer, pass, nm, device, preset, ...).
//!
//! `--key` replaces rule 6 with the columns given; the other columns keep their roles.

/// The role of a column (see the module documentation for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Identifies the row.
    Key,
    /// A figure the row reports; compared.
    Measurement,
    /// Timing samples, `;`-separated milliseconds.
    Samples,
    /// Position in the unsharded work list.
    Order,
    /// Where and when; ignored.
    Provenance,
    /// A wall time without samples; ignored.
    Unstable,
}

/// The column holding timing samples.
pub const SAMPLES: &str = "samples_ms";
/// The column holding a row's position in the unsharded work list.
pub const ORDER: &str = "work_index";
/// Columns that hold a timed row's median when it has no samples, in order of preference.
pub const MEDIAN_COLUMNS: [&str; 3] = ["median_ms", "kernel_ms", "time_ms"];
/// Columns that make a file a timing file (measured medians; `time_ms` is also the accelerator model's
/// deterministic output, so it alone does not).
pub const MEASURED_MEDIANS: [&str; 2] = ["median_ms", "kernel_ms"];

const PROVENANCE: [&str; 9] = [
    "git_commit",
    "date",
    "time",
    "host",
    "hostname",
    "driver",
    "cuda",
    "sms",
    "clocks",
];
const MEASUREMENT_NAMES: [&str; 8] = [
    "density",
    "util",
    "macs",
    "cycles",
    "pareto",
    "interleaved",
    "dataflow",
    "score",
];
const MEASUREMENT_PREFIXES: [&str; 7] = [
    "recall",
    "tflops",
    "speedup",
    "energy",
    "accuracy",
    "predicted",
    "measured",
];
const MEASUREMENT_SUFFIXES: [&str; 13] = [
    "_ms", "_us", "_s", "_flops", "_bytes", "_cycles", "_uj", "_err", "_density", "_speedup", "_gbps", "_pct", "_ratio",
];

/// The role of column `name` by the default rule.
pub fn role(name: &str) -> Role {
    if PROVENANCE.contains(&name) {
        Role::Provenance
    } else if name == SAMPLES {
        Role::Samples
    } else if name == ORDER {
        Role::Order
    } else if name.ends_with("_cpu_ms") || name.ends_with("_wall_ms") {
        Role::Unstable
    } else if MEASUREMENT_NAMES.contains(&name)
        || MEASUREMENT_PREFIXES.iter().any(|p| name.starts_with(p))
        || MEASUREMENT_SUFFIXES.iter().any(|s| name.ends_with(s))
    {
        Role::Measurement
    } else {
        Role::Key
    }
}

/// The default key of a file with this header: its key-role columns, in file order.
pub fn default_key(header: &[String]) -> Vec<String> {
    header.iter().filter(|h| role(h) == Role::Key).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_of_our_commands_columns() {
        for key in [
            "method",
            "params",
            "params_used",
            "seq_len",
            "heads",
            "kv_heads",
            "head_dim",
            "causal",
        ] {
            assert_eq!(role(key), Role::Key, "{key}");
        }
        for key in [
            "device", "workload", "seed", "model", "layer", "pass", "nm", "m", "k", "count", "preset",
        ] {
            assert_eq!(role(key), Role::Key, "{key}");
        }
        for m in [
            "density",
            "kept_density",
            "recall_mean",
            "recall_min",
            "out_rel_err",
            "est_flops",
        ] {
            assert_eq!(role(m), Role::Measurement, "{m}");
        }
        for m in [
            "kernel_ms",
            "p10_ms",
            "tflops_actual",
            "cycles",
            "stall_cycles",
            "dram_bytes",
            "energy_uj",
        ] {
            assert_eq!(role(m), Role::Measurement, "{m}");
        }
        for m in [
            "work_speedup",
            "speedup_vs_dense",
            "pareto",
            "predicted_ms",
            "time_ms",
            "util",
            "macs",
        ] {
            assert_eq!(role(m), Role::Measurement, "{m}");
        }
        assert_eq!(role("select_cpu_ms"), Role::Unstable);
        assert_eq!(role("samples_ms"), Role::Samples);
        assert_eq!(role("work_index"), Role::Order);
        for p in ["git_commit", "date", "driver", "cuda", "sms", "host", "clocks"] {
            assert_eq!(role(p), Role::Provenance, "{p}");
        }
    }

    #[test]
    fn default_key_keeps_file_order() {
        let header: Vec<String> = ["work_index", "method", "density", "seq_len", "git_commit", "device"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(default_key(&header), ["method", "seq_len", "device"]);
    }
}
