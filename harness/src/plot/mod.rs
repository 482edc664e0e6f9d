//! Figures as SVG and PNG without a plotting stack: a figure is a [`Scene`] of
//! rectangles and text, and each backend renders the same scene.
//!
//! | module | what it provides |
//! |---|---|
//! | [`scene`] | the display list (rectangles, lines, paths, circles, text) and colors |
//! | [`svg`] | a scene as SVG text |
//! | [`png`] | a scene rasterized with an 8x8 bitmap font, encoded as PNG |
//! | [`heatmap`] | score grids (NIAH depth x length, like the papers' figures), one panel per method |
//! | [`recall_speedup`] | recall versus speedup, one line per method, Pareto front ringed |
//! | [`line_chart`] | a value over labelled positions, one line per series (what-if sweeps) |

pub mod heatmap;
pub mod line_chart;
pub mod png;
pub mod recall_speedup;
pub mod scene;
pub mod svg;

pub use heatmap::{heatmap_scene, HeatmapPanel};
pub use recall_speedup::{recall_speedup_scene, ChartPoint, Series};
pub use scene::Scene;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use crate::output::write_atomic;

/// Writes `scene` as SVG to `path` and as PNG next to it (same name, `.png`),
/// atomically; returns both paths.
pub fn write_svg_and_png(scene: &Scene, path: &Path) -> Result<(PathBuf, PathBuf)> {
    let svg_path = path.with_extension("svg");
    let png_path = path.with_extension("png");
    write_atomic(&svg_path, svg::render(scene).as_bytes())
        .with_context(|| format!("writing {}", svg_path.display()))?;
    let png_bytes = png::render(scene).context("encoding the PNG")?;
    write_atomic(&png_path, &png_bytes).with_context(|| format!("writing {}", png_path.display()))?;
    Ok((svg_path, png_path))
}
