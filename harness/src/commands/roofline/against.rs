//! `sparselab roofline --against bench.csv`: every row of a `sparselab bench` CSV predicted by the
//! roofline (same kernel, tile, shape and density) beside the measured median, with the error and
//! how far the kernel falls short of its roofline (measured over ideal time).
//!
//! Work of each bench method: dense and A-shape exactly; random block-sparse masks as
//! `max(1, density x visible blocks)` blocks per query block; block-topk exactly (k blocks);
//! vertical-slash with the share of spread slashes solved so the analytic density equals the
//! measured one (bench runs on random inputs, whose chosen slashes are far from local).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::{load_preset, RooflineArgs, MODEL};
use crate::output::write_csv;
use crate::provenance::Provenance;
use sparselab_simulators::roofline::{
    families, predict, AttentionShape, AttentionWork, BlockWork, DenseTiming, GpuPreset, KernelSpec, TileShape,
};

/// The columns of a bench CSV this command reads (others are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct BenchLine {
    /// dense, block-sparse, vertical-slash, a-shape, block-topk.
    pub method: String,
    /// e.g. `tile=w4m2` or `v=1000,s=6096,tile=w4m1`.
    pub params: String,
    /// Tokens.
    pub seq_len: u64,
    /// Query heads.
    pub heads: u64,
    /// Key/value heads.
    pub kv_heads: u64,
    /// Head dimension.
    pub head_dim: u64,
    /// Causal masking.
    pub causal: bool,
    /// Measured tile density.
    pub density: f64,
    /// Median index-building time, ms.
    pub index_ms: f64,
    /// Median kernel time, ms.
    pub kernel_ms: f64,
    /// GPU name.
    pub device: String,
}

/// One row of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct AgainstRow {
    /// Bench method.
    pub method: String,
    /// Bench parameters.
    pub params: String,
    /// Tokens.
    pub seq_len: u64,
    /// Causal masking.
    pub causal: bool,
    /// Kernel model used.
    pub kernel: String,
    /// Density the bench measured.
    pub density_measured: f64,
    /// Density of the modeled work.
    pub density_model: f64,
    /// Measured median kernel time, ms.
    pub measured_ms: f64,
    /// Predicted kernel time (without launch overhead), ms.
    pub predicted_ms: f64,
    /// (predicted - measured) / measured, percent.
    pub error_pct: f64,
    /// Ideal kernel time at the datasheet ceilings, ms.
    pub roofline_ms: f64,
    /// measured / roofline: how far the kernel falls short of its roofline.
    pub short_of_roofline: f64,
    /// compute or memory (predicted).
    pub bound: String,
    /// Measured index building, ms.
    pub index_measured_ms: f64,
    /// Predicted estimation phase, ms.
    pub index_predicted_ms: f64,
    /// measured, preset or default.
    pub efficiency_source: String,
    /// GPU the bench ran on.
    pub device: String,
    /// Preset (after scaling).
    pub preset: String,
    /// Model version.
    pub model: String,
    /// Commit of the sources.
    pub git_commit: String,
    /// UTC time of the comparison.
    pub date: String,
}

fn param_map(params: &str) -> HashMap<&str, &str> {
    params
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn get<T: std::str::FromStr>(map: &HashMap<&str, &str>, key: &str, line: &BenchLine) -> Result<T> {
    map.get(key)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("bench row {} `{}`: no numeric `{key}`", line.method, line.params))
}

/// The kernel model of a bench tile label.
pub fn kernel_of_tile(tile: &str) -> Result<KernelSpec> {
    let name = match tile {
        "w4m2" => "sparselab",
        "w4m1" => "sparselab-w4m1",
        "w8m1" => "sparselab-w8m1",
        "w2m2" => "sparselab-w2m2",
        "g1" => "sparselab-g1",
        "g2" => "sparselab-g2",
        "g2k" => "sparselab-g2k",
        "g2w" => "sparselab-g2w",
        other => bail!("bench tile `{other}`: expected w4m1, w8m1, w4m2, w2m2, g1, g2, g2k or g2w"),
    };
    Ok(KernelSpec::by_name(name)?)
}

/// Random block masks: `max(1, round(density x visible))` blocks of `block` keys per query block,
/// run as `block x key_tile` tiles (the kernel's key tile: 64, or 128 for g2k and g2w).
fn random_blocks(shape: AttentionShape, block: u64, key_tile: u64, density: f64) -> AttentionWork {
    let nb = shape.seq_len.div_ceil(block);
    let per_block = block.div_ceil(key_tile);
    let blocks = (0..nb)
        .map(|qb| {
            let visible = if shape.causal { qb + 1 } else { nb };
            BlockWork {
                key_tiles: ((density * visible as f64).round() as u64).clamp(1, visible) * per_block,
                gathered_keys: 0,
                count: shape.heads,
            }
        })
        .collect();
    AttentionWork {
        shape,
        tile: TileShape { q: block, k: key_tile },
        blocks,
        estimation: Default::default(),
    }
}

/// Vertical-slash with the spread share whose density matches `target` (bisection; spread 0 below
/// what the budget can give, evenly spread 64-key tiles at `target` above it).
fn vertical_slash_matching(
    shape: AttentionShape,
    tile: TileShape,
    v: u64,
    s: u64,
    target: f64,
) -> Result<AttentionWork> {
    let density = |spread: f64| families::vertical_slash(shape, tile, v, s, spread).map(|w| w.density());
    let (mut lo, mut hi) = (0.0, 1.0);
    if density(lo)? >= target {
        return Ok(families::vertical_slash(shape, tile, v, s, lo)?);
    }
    if density(hi)? <= target {
        // Denser than the most spread slashes give (the estimate's columns and diagonals together
        // touch nearly every tile): the executed tiles at the measured density, spread evenly.
        let estimation = families::vertical_slash(shape, tile, v, s, hi)?.estimation;
        return Ok(AttentionWork {
            estimation,
            ..random_blocks(shape, tile.q, tile.k, target)
        });
    }
    for _ in 0..30 {
        let mid = (lo + hi) / 2.0;
        if density(mid)? < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(families::vertical_slash(shape, tile, v, s, (lo + hi) / 2.0)?)
}

/// The modeled work and kernel of one bench row.
pub fn work_of(line: &BenchLine) -> Result<(AttentionWork, KernelSpec)> {
    let shape = AttentionShape {
        seq_len: line.seq_len,
        heads: line.heads,
        kv_heads: line.kv_heads,
        head_dim: line.head_dim,
        causal: line.causal,
        dtype_bytes: 2,
    };
    let p = param_map(&line.params);
    let kernel = kernel_of_tile(p.get("tile").copied().unwrap_or("w4m2"))?;
    let work = match line.method.as_str() {
        "dense" => families::dense(shape, kernel.tile)?,
        "block-sparse" => random_blocks(shape, get(&p, "block", line)?, kernel.tile.k, line.density),
        "a-shape" => families::a_shape(shape, kernel.tile, get(&p, "sink", line)?, get(&p, "local", line)?)?,
        "block-topk" => families::block_topk(shape, get(&p, "k", line)?, get(&p, "block", line)?)?,
        "vertical-slash" => vertical_slash_matching(
            shape,
            kernel.tile,
            get(&p, "v", line)?,
            get(&p, "s", line)?,
            line.density,
        )?,
        // MInference's local pattern (the most local diagonals, columns spread): the analytic family
        // with no spread slashes, predicted from the budget alone.
        "vertical-slash-local" => {
            families::vertical_slash(shape, kernel.tile, get(&p, "v", line)?, get(&p, "s", line)?, 0.0)?
        }
        other => bail!("bench method `{other}` has no roofline work description"),
    };
    Ok((work, kernel))
}

/// Reads every row of a bench CSV (errors name the file and the data row).
pub fn read_bench(bench_csv: &Path) -> Result<Vec<BenchLine>> {
    let mut reader = csv::Reader::from_path(bench_csv).with_context(|| format!("opening {}", bench_csv.display()))?;
    let mut lines = Vec::new();
    for (i, line) in reader.deserialize::<BenchLine>().enumerate() {
        lines.push(line.with_context(|| format!("{}: data row {}", bench_csv.display(), i + 1))?);
    }
    Ok(lines)
}

/// The dense rows of a bench CSV as (kernel model, measured timing), in file order: what
/// `sparselab calibrate --from-bench` fits (sparse rows are left for the check).
pub fn dense_timings(lines: &[BenchLine]) -> Result<Vec<(KernelSpec, DenseTiming)>> {
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| l.method == "dense") {
        let (work, kernel) = work_of(line)?;
        out.push((
            kernel,
            DenseTiming {
                shape: work.shape,
                time_s: line.kernel_ms * 1e-3,
            },
        ));
    }
    Ok(out)
}

/// Compares every row of `bench_csv` with its prediction on `preset`.
pub fn compare(preset: &GpuPreset, bench_csv: &Path, provenance: &Provenance) -> Result<Vec<AgainstRow>> {
    let mut rows = Vec::new();
    for (i, line) in read_bench(bench_csv)?.into_iter().enumerate() {
        let (work, kernel) = work_of(&line).with_context(|| format!("{}: data row {}", bench_csv.display(), i + 1))?;
        let p = predict(preset, &work, &kernel)?;
        let predicted_ms = p.predicted_kernel.time_s * 1e3;
        let roofline_ms = p.roofline_kernel.time_s * 1e3;
        rows.push(AgainstRow {
            method: line.method.clone(),
            params: line.params.clone(),
            seq_len: line.seq_len,
            causal: line.causal,
            kernel: kernel.name.to_string(),
            density_measured: line.density,
            density_model: p.density,
            measured_ms: line.kernel_ms,
            predicted_ms,
            error_pct: 100.0 * (predicted_ms - line.kernel_ms) / line.kernel_ms,
            roofline_ms,
            short_of_roofline: line.kernel_ms / roofline_ms,
            bound: p.predicted_kernel.bound().name().to_string(),
            index_measured_ms: line.index_ms,
            index_predicted_ms: p.predicted_estimation.time_s * 1e3,
            efficiency_source: p.efficiency_source.to_string(),
            device: line.device.clone(),
            preset: preset.describe(),
            model: MODEL.to_string(),
            git_commit: provenance.git_commit.clone(),
            date: provenance.date.clone(),
        });
    }
    if rows.is_empty() {
        bail!("{} has no rows", bench_csv.display());
    }
    Ok(rows)
}

#[derive(Tabled)]
struct Line {
    method: String,
    params: String,
    #[tabled(rename = "L")]
    seq_len: u64,
    causal: bool,
    #[tabled(rename = "density meas/model")]
    density: String,
    #[tabled(rename = "measured ms")]
    measured: String,
    #[tabled(rename = "predicted ms")]
    predicted: String,
    #[tabled(rename = "error %")]
    error: String,
    #[tabled(rename = "roofline ms")]
    roofline: String,
    #[tabled(rename = "x roofline")]
    short: String,
    #[tabled(rename = "index meas/pred ms")]
    index: String,
}

/// Runs `--against`: prints the comparison and a summary, writes the CSV.
pub fn run(args: &RooflineArgs, bench_csv: &Path) -> Result<()> {
    let (preset, scale) = load_preset(args.hardware.as_deref(), "h100", &args.scales)?;
    let rows = compare(&preset, bench_csv, &Provenance::cpu())?;
    println!(
        "{} | scale {scale} | against {}",
        preset.describe(),
        bench_csv.display()
    );
    let lines = rows.iter().map(|r| Line {
        method: r.method.clone(),
        params: r.params.clone(),
        seq_len: r.seq_len,
        causal: r.causal,
        density: format!("{:.3}/{:.3}", r.density_measured, r.density_model),
        measured: format!("{:.3}", r.measured_ms),
        predicted: format!("{:.3}", r.predicted_ms),
        error: format!("{:+.1}", r.error_pct),
        roofline: format!("{:.3}", r.roofline_ms),
        short: format!("{:.2}", r.short_of_roofline),
        index: format!("{:.3}/{:.3}", r.index_measured_ms, r.index_predicted_ms),
    });
    println!("{}", Table::new(lines).with(Style::markdown()));
    let within = rows.iter().filter(|r| r.error_pct.abs() <= 15.0).count();
    let worst = rows.iter().map(|r| r.error_pct.abs()).fold(0.0, f64::max);
    println!(
        "{within} of {} rows within 15% of the measured time; largest error {worst:.1}%",
        rows.len()
    );
    if let Some(path) = &args.out {
        write_csv(path, &rows).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} rows to {}", rows.len(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(method: &str, params: &str, causal: bool, density: f64) -> BenchLine {
        BenchLine {
            method: method.into(),
            params: params.into(),
            seq_len: 16384,
            heads: 32,
            kv_heads: 32,
            head_dim: 128,
            causal,
            density,
            index_ms: 0.0,
            kernel_ms: 1.0,
            device: "test".into(),
        }
    }

    #[test]
    fn bench_rows_map_to_work_with_their_density() {
        let (w, k) = work_of(&line("dense", "tile=w4m1", true, 1.0)).unwrap();
        assert_eq!((k.name, w.tile.q), ("sparselab-w4m1", 64));
        let (w, _) = work_of(&line("block-sparse", "block=128,tile=w4m2,target=0.1", false, 0.1)).unwrap();
        assert!((w.density() - 0.1).abs() < 0.01, "{}", w.density());
        let (w, _) = work_of(&line("vertical-slash", "v=1000,s=6096,tile=w4m1", true, 0.8)).unwrap();
        assert!((w.density() - 0.8).abs() < 0.01, "{}", w.density());
        let (w, _) = work_of(&line("a-shape", "sink=128,local=3968,tile=w4m1", true, 0.0)).unwrap();
        assert!(w.density() < 0.5);
        assert!(work_of(&line("dense", "tile=w3m3", true, 1.0)).is_err());
        assert_eq!(
            work_of(&line("dense", "tile=w2m2", true, 1.0)).unwrap().1.name,
            "sparselab-w2m2"
        );
        let e = work_of(&line("block-topk", "block=64,tile=w4m1", true, 0.1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`k`"), "{e}");
    }

    #[test]
    fn compares_a_bench_csv() {
        // The H100 results of 2026-11-23 (results/gpu-attention-h100-2026-11-23/sparselab.csv) must
        // parse and be predicted; the dense w4m2 rows fall within 15% with the preset's efficiencies.
        let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/gpu-attention-h100-2026-11-23/sparselab.csv");
        let rows = compare(&GpuPreset::load("h100").unwrap(), &csv, &Provenance::cpu()).unwrap();
        let dense: Vec<&AgainstRow> = rows
            .iter()
            .filter(|r| r.method == "dense" && r.params == "tile=w4m2")
            .collect();
        assert_eq!(dense.len(), 4);
        for r in dense {
            assert!(r.error_pct.abs() < 15.0, "{r:?}");
            assert!(r.short_of_roofline > 1.0, "{r:?}");
        }
    }
}
