//! The sweep's chart: speedup over dense against the first varied parameter, one line per series
//! (method and length, or model and ratio) and per combination of the other varied parameters.

use anyhow::Result;
use std::path::{Path, PathBuf};

use super::grid::Axis;
use crate::plot::line_chart::{line_chart_scene, Line};
use crate::plot::write_svg_and_png;

/// One plotted value: the row's grid point label (`a=1;b=2`), its series and its speedup.
pub struct Cell<'a> {
    /// `name=value` pairs joined by `;`.
    pub point: &'a str,
    /// Series name (method and length, or model and ratio).
    pub series: String,
    /// Speedup over dense.
    pub speedup: f64,
}

/// The lines of the chart: x = position of the point's first-axis value, one line per series and
/// per value of the other axes.
pub fn lines(cells: &[Cell<'_>], first: &Axis) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for c in cells {
        let mut first_value = None;
        let mut rest = Vec::new();
        for pair in c.point.split(';') {
            match pair.split_once('=') {
                Some((n, v)) if n == first.name => first_value = Some(v),
                _ if pair != "base" => rest.push(pair),
                _ => {}
            }
        }
        let Some(x) = first_value.and_then(|v| first.values.iter().position(|w| w == v)) else {
            continue;
        };
        let name = if rest.is_empty() {
            c.series.clone()
        } else {
            format!("{} {}", c.series, rest.join(" "))
        };
        match out.iter_mut().find(|l| l.name == name) {
            Some(l) => l.points.push((x, c.speedup)),
            None => out.push(Line {
                name,
                points: vec![(x, c.speedup)],
            }),
        }
    }
    out
}

/// Writes the chart as `path` with `.svg` and `.png` extensions; returns both paths.
pub fn write(title: &str, first: &Axis, cells: &[Cell<'_>], path: &Path) -> Result<(PathBuf, PathBuf)> {
    let scene = line_chart_scene(
        title,
        &first.name,
        &first.values,
        "speedup over dense",
        &lines(cells, first),
    );
    write_svg_and_png(&scene, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_first_axis_and_split_by_the_others() {
        let first = Axis {
            name: "bandwidth".into(),
            values: vec!["0.5".into(), "2".into()],
        };
        let cell = |point: &'static str, series: &str, speedup| Cell {
            point,
            series: series.into(),
            speedup,
        };
        let cells = [
            cell("bandwidth=0.5;flops=1", "vs", 9.0),
            cell("bandwidth=2;flops=1", "vs", 9.5),
            cell("bandwidth=0.5;flops=2", "vs", 8.0),
            cell("bandwidth=2;flops=2", "vs", 8.5),
        ];
        let l = lines(&cells, &first);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].name, "vs flops=1");
        assert_eq!(l[0].points, vec![(0, 9.0), (1, 9.5)]);
        assert_eq!(l[1].name, "vs flops=2");
    }
}
