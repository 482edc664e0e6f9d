//! What the bench records about the GPU besides what CUDA reports: the driver's own
//! version (cuDriverGetVersion gives only the CUDA version it supports) and clocks.

use std::process::Command;

/// The NVIDIA driver version, e.g. `580.159.04`, from /proc/driver/nvidia/version,
/// else nvidia-smi; `unknown` when neither answers.
pub fn driver_version() -> String {
    if let Ok(text) = std::fs::read_to_string("/proc/driver/nvidia/version") {
        if let Some(v) = parse_proc_version(&text) {
            return v;
        }
    }
    nvidia_smi(&["--query-gpu=driver_version", "--format=csv,noheader"]).unwrap_or_else(|| "unknown".into())
}

/// The version field of /proc/driver/nvidia/version's first line
/// (`NVRM version: NVIDIA UNIX ... Kernel Module for x86_64  580.159.04  Release Build ...`).
pub fn parse_proc_version(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    line.split_whitespace()
        .find(|w| {
            w.split('.').count() >= 2
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// SM clock now and its maximum, and the power limit, as nvidia-smi reports them
/// (`unknown` without nvidia-smi).
pub fn clocks() -> String {
    nvidia_smi(&[
        "--query-gpu=clocks.sm,clocks.max.sm,clocks.mem,power.limit",
        "--format=csv,noheader",
    ])
    .map(|s| {
        let f: Vec<&str> = s.split(',').map(str::trim).collect();
        match f.as_slice() {
            [sm, max, mem, power] => format!("sm {sm} (max {max}), mem {mem}, power limit {power}"),
            _ => s.clone(),
        }
    })
    .unwrap_or_else(|| "unknown".into())
}

fn nvidia_smi(args: &[&str]) -> Option<String> {
    let out = Command::new("nvidia-smi").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout).lines().next()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_of_the_kernel_module_line() {
        let text = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (nixbld@)\n\
                    GCC version:  gcc version 15.3.0 (GCC)\n";
        assert_eq!(parse_proc_version(text).as_deref(), Some("580.159.04"));
        assert_eq!(parse_proc_version("garbage"), None);
    }
}
