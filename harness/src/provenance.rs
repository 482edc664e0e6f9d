//! Provenance recorded with every result row: commit, date, device.

use serde::Serialize;

/// Where and when a result was produced.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Provenance {
    /// The commit the binary was built from (`git rev-parse --short=12 HEAD` at build time, `-dirty`
    /// when the tree had uncommitted changes), or `SPARSELAB_GIT_COMMIT` when set; `unknown` when
    /// built outside a git checkout.
    pub git_commit: String,
    /// UTC time of the run, RFC 3339.
    pub date: String,
    /// The device that computed the row: `cpu (N threads)` or the GPU's name.
    pub device: String,
    /// GPU driver version, or `none`.
    pub driver: String,
    /// CUDA version, or `none`.
    pub cuda: String,
}

impl Provenance {
    /// Provenance of a computation on this machine's CPU.
    pub fn cpu() -> Self {
        Self {
            git_commit: git_commit(),
            date: utc_now(),
            device: format!("cpu ({} threads)", rayon::current_num_threads()),
            driver: "none".into(),
            cuda: "none".into(),
        }
    }
}

/// The commit of the sources: `SPARSELAB_GIT_COMMIT` when set (for binaries built elsewhere), else
/// the commit this binary was built from (recorded by `harness/build.rs`, `-dirty` when the tree had
/// uncommitted changes), else `unknown`.
pub fn git_commit() -> String {
    commit_from(
        std::env::var("SPARSELAB_GIT_COMMIT").ok(),
        env!("SPARSELAB_BUILD_COMMIT"),
    )
}

fn commit_from(overridden: Option<String>, built: &str) -> String {
    match overridden {
        Some(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ if !built.is_empty() => built.to_string(),
        _ => "unknown".into(),
    }
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ`, from the system clock (no time-zone database needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn the_override_wins_then_the_build_commit() {
        assert_eq!(commit_from(Some("abc123".into()), "def456"), "abc123");
        assert_eq!(commit_from(Some("  ".into()), "def456"), "def456");
        assert_eq!(commit_from(None, ""), "unknown");
        assert!(!git_commit().is_empty());
    }
}
