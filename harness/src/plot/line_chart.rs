//! A line chart over categories: one line with markers per series, the x axis a list of labelled
//! positions (e.g. the values of a swept parameter), the y axis numeric from zero. Used by the
//! what-if sweeps (speedup over dense against a hardware parameter).

use super::recall_speedup::{nice_ticks, tick_label};
use super::scene::{series_color, text_width, Anchor, Rgb, Scene};

/// One line: its legend entry and `(x position, y)` points (positions index the x labels).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend entry.
    pub name: String,
    /// Points; non-finite values are left out.
    pub points: Vec<(usize, f64)>,
}

const HEIGHT: u32 = 480;
const LEFT: u32 = 70;
const RIGHT: u32 = 200;
const TOP: u32 = 56;
const BOTTOM: u32 = 56;
const FONT: u32 = 8;
const MARKER: u32 = 4;

/// The chart: `title` on top, the `x_labels` positions across (`x_name` under them), `y_name` up
/// from zero, a legend at the right.
pub fn line_chart_scene(title: &str, x_name: &str, x_labels: &[String], y_name: &str, lines: &[Line]) -> Scene {
    let max_y = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite())
        .fold(1.0, f64::max);
    let yt = nice_ticks(0.0, max_y);
    let (y0, y1) = (yt[0], yt[yt.len() - 1]);
    let label_w = x_labels.iter().map(|l| text_width(l.len(), FONT)).max().unwrap_or(0);
    let min_plot = (label_w + 16) * x_labels.len().max(1) as u32;
    let legend_w = lines
        .iter()
        .map(|l| text_width(l.name.len(), FONT) + 56)
        .max()
        .unwrap_or(0);
    let right = RIGHT.max(legend_w);
    let width = (LEFT + right + min_plot.max(420)).max(text_width(title.len(), 16) + 16);
    let (pw, ph) = (width - LEFT - right, HEIGHT - TOP - BOTTOM);
    let n = x_labels.len().max(1) as f64;
    let px = |i: usize| LEFT + (((i as f64 + 0.5) / n) * pw as f64).round() as u32;
    let py = |y: f64| TOP + (((y1 - y) / (y1 - y0)).clamp(0.0, 1.0) * ph as f64).round() as u32;
    let mut s = Scene::new(width, HEIGHT);
    s.text(8, 16, title, 16, Rgb::BLACK, Anchor::Start);
    let grid = Rgb(230, 230, 230);
    for &t in &yt {
        s.line((LEFT, py(t)), (LEFT + pw, py(t)), grid, 1);
        s.text(LEFT - 6, py(t), tick_label(t, &yt), FONT, Rgb::BLACK, Anchor::End);
    }
    for (i, l) in x_labels.iter().enumerate() {
        s.line((px(i), TOP), (px(i), TOP + ph), grid, 1);
        s.text(px(i), TOP + ph + 12, l, FONT, Rgb::BLACK, Anchor::Middle);
    }
    s.line((LEFT, TOP + ph), (LEFT + pw, TOP + ph), Rgb::BLACK, 1);
    s.line((LEFT, TOP), (LEFT, TOP + ph), Rgb::BLACK, 1);
    s.text(LEFT + pw / 2, TOP + ph + 32, x_name, FONT, Rgb::BLACK, Anchor::Middle);
    s.text(8, TOP - 20, y_name, FONT, Rgb::BLACK, Anchor::Start);
    for (i, line) in lines.iter().enumerate() {
        let color = series_color(i);
        let mut pts: Vec<(usize, f64)> = line
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite() && p.0 < x_labels.len())
            .collect();
        pts.sort_by_key(|p| p.0);
        s.path(pts.iter().map(|&(x, y)| (px(x), py(y))).collect(), color, 2);
        for &(x, y) in &pts {
            s.circle((px(x), py(y)), MARKER, color, None);
        }
        let ly = TOP + 10 + 18 * i as u32;
        let lx = LEFT + pw + 16;
        s.legend_entry((lx, ly), color, MARKER, &line.name, FONT);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::scene::Item;
    use super::*;

    #[test]
    fn one_path_per_line_inside_the_canvas() {
        let labels: Vec<String> = ["0.5", "1", "2", "4"].iter().map(|s| s.to_string()).collect();
        let lines = [
            Line {
                name: "dense".into(),
                points: vec![(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0)],
            },
            Line {
                name: "vertical-slash".into(),
                points: vec![(3, 9.8), (0, 9.4), (1, f64::NAN), (2, 9.7)],
            },
        ];
        let scene = line_chart_scene("speedup vs bandwidth", "bandwidth (x)", &labels, "speedup", &lines);
        let paths = scene.paths();
        assert_eq!(paths.len(), 2);
        assert_eq!(paths[1].len(), 3, "the NaN point is left out");
        assert!(paths[1].windows(2).all(|w| w[0].0 < w[1].0), "sorted left to right");
        // A higher speedup sits higher (smaller y).
        assert!(paths[1][0].1 < paths[0][0].1);
        for i in &scene.items {
            if let Item::Circle { cx, cy, r, .. } = i {
                assert!(cx + r <= scene.width && cy + r <= scene.height);
            }
        }
    }
}
