//! Records the commit the `sparselab` binary is built from (`SPARSELAB_BUILD_COMMIT`), so result
//! rows name the sources that produced them even when the binary runs outside its checkout (on a
//! GPU machine, in CI). `-dirty` marks a build from a tree with uncommitted changes to tracked files.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    // Re-run when the commit or any tracked source changes, so the dirty flag stays true.
    for path in [
        ".git/HEAD",
        ".git/index",
        "harness/src",
        "kernels/src",
        "kernels/cuda",
        "workloads/src",
        "simulators/src",
        "simulators/presets",
        "Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(hash) if !hash.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{hash}-dirty")
            } else {
                hash
            }
        }
        _ => "unknown".to_string(),
    };
    println!("cargo:rustc-env=SPARSELAB_BUILD_COMMIT={commit}");
}
