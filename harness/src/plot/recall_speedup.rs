//! The recall-versus-speedup chart of a study: one line with markers per method
//! (its budgets, sorted by speedup), the Pareto-optimal points ringed in black.

use super::scene::{series_color, text_width, Anchor, Rgb, Scene};

/// One point of a method's line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    /// Speedup over dense (x axis).
    pub speedup: f64,
    /// Recall, share of the attention mass kept (y axis).
    pub recall: f64,
    /// On the workload's Pareto front (ringed).
    pub pareto: bool,
}

/// A method's points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry (the method's name).
    pub name: String,
    /// Its budgets' points, in any order.
    pub points: Vec<ChartPoint>,
}

const WIDTH: u32 = 760;
const HEIGHT: u32 = 480;
const LEFT: u32 = 70;
const RIGHT: u32 = 210;
const TOP: u32 = 56;
const BOTTOM: u32 = 56;
const FONT: u32 = 8;
const MARKER: u32 = 4;
const RING: u32 = 7;

/// Round tick positions covering `[lo, hi]` with about five steps of 1, 2 or 5 times a power of ten;
/// returns the ticks (first and last enclose the range).
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    let raw = (hi - lo) / 5.0;
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick value with as many decimals as the tick step needs.
pub fn tick_label(v: f64, ticks: &[f64]) -> String {
    let step = if ticks.len() > 1 { ticks[1] - ticks[0] } else { 1.0 };
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// The chart: `title` on top, speedup (`x_label`) across, recall up, a legend at the right.
pub fn recall_speedup_scene(title: &str, x_label: &str, series: &[Series]) -> Scene {
    let all: Vec<ChartPoint> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|p| p.speedup.is_finite() && p.recall.is_finite())
        .collect();
    let max_x = all.iter().map(|p| p.speedup).fold(1.0, f64::max);
    let min_y = all.iter().map(|p| p.recall).fold(1.0, f64::min);
    let xt = nice_ticks(0.0, max_x);
    let yt = nice_ticks(min_y.max(0.0), 1.0);
    let (x0, x1) = (xt[0], xt[xt.len() - 1]);
    let (y0, y1) = (yt[0], yt[yt.len() - 1]);
    let title_size = if text_width(title.len(), 16) + 16 <= WIDTH {
        16
    } else {
        FONT
    };
    let width = WIDTH.max(text_width(title.len(), title_size) + 16);
    let (pw, ph) = (width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let px = |x: f64| LEFT + (((x - x0) / (x1 - x0)).clamp(0.0, 1.0) * pw as f64).round() as u32;
    let py = |y: f64| TOP + (((y1 - y) / (y1 - y0)).clamp(0.0, 1.0) * ph as f64).round() as u32;
    let mut s = Scene::new(width, HEIGHT);
    s.text(8, 16, title, title_size, Rgb::BLACK, Anchor::Start);
    let grid = Rgb(230, 230, 230);
    for &t in &xt {
        s.line((px(t), TOP), (px(t), TOP + ph), grid, 1);
        s.text(
            px(t),
            TOP + ph + 12,
            tick_label(t, &xt),
            FONT,
            Rgb::BLACK,
            Anchor::Middle,
        );
    }
    for &t in &yt {
        s.line((LEFT, py(t)), (LEFT + pw, py(t)), grid, 1);
        s.text(LEFT - 6, py(t), tick_label(t, &yt), FONT, Rgb::BLACK, Anchor::End);
    }
    s.line((LEFT, TOP + ph), (LEFT + pw, TOP + ph), Rgb::BLACK, 1);
    s.line((LEFT, TOP), (LEFT, TOP + ph), Rgb::BLACK, 1);
    s.text(LEFT + pw / 2, TOP + ph + 32, x_label, FONT, Rgb::BLACK, Anchor::Middle);
    s.text(
        8,
        TOP - 20,
        "recall (share of attention mass kept)",
        FONT,
        Rgb::BLACK,
        Anchor::Start,
    );
    for (i, series) in series.iter().enumerate() {
        let color = series_color(i);
        let mut pts: Vec<ChartPoint> = series
            .points
            .iter()
            .copied()
            .filter(|p| p.speedup.is_finite() && p.recall.is_finite())
            .collect();
        pts.sort_by(|a, b| a.speedup.total_cmp(&b.speedup).then(a.recall.total_cmp(&b.recall)));
        s.path(pts.iter().map(|p| (px(p.speedup), py(p.recall))).collect(), color, 2);
        for p in &pts {
            let ring = p.pareto.then_some((Rgb::BLACK, 2));
            s.circle(
                (px(p.speedup), py(p.recall)),
                if p.pareto { RING } else { MARKER },
                color,
                ring,
            );
        }
        let ly = TOP + 10 + 18 * i as u32;
        let lx = LEFT + pw + 16;
        s.legend_entry((lx, ly), color, MARKER, &series.name, FONT);
    }
    let ly = TOP + 10 + 18 * series.len() as u32 + 8;
    let lx = LEFT + pw + 16;
    s.circle((lx + 12, ly), RING, Rgb::WHITE, Some((Rgb::BLACK, 2)));
    s.text(lx + 32, ly, "Pareto-optimal", FONT, Rgb::BLACK, Anchor::Start);
    s
}

#[cfg(test)]
mod tests {
    use super::super::scene::Item;
    use super::*;

    fn pt(speedup: f64, recall: f64, pareto: bool) -> ChartPoint {
        ChartPoint {
            speedup,
            recall,
            pareto,
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 8.3), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let y = nice_ticks(0.55, 1.0);
        assert!(y[0] <= 0.55 && *y.last().unwrap() >= 1.0 && y.len() <= 7, "{y:?}");
        let flat = nice_ticks(1.0, 1.0);
        assert!(
            flat.len() >= 2 && flat[0] < 1.0 && *flat.last().unwrap() > 1.0,
            "{flat:?}"
        );
    }

    #[test]
    fn one_path_per_method_and_rings_on_the_front() {
        let series = [
            Series {
                name: "dense".into(),
                points: vec![pt(1.0, 1.0, true)],
            },
            Series {
                name: "a-shape".into(),
                points: vec![pt(4.0, 0.6, true), pt(2.0, 0.8, false)],
            },
        ];
        let scene = recall_speedup_scene("recall vs speedup", "work speedup", &series);
        let paths = scene.paths();
        assert_eq!(paths.len(), 2);
        // Sorted by speedup: left point first.
        assert!(paths[1][0].0 < paths[1][1].0);
        let rings = scene
            .items
            .iter()
            .filter(|i| matches!(i, Item::Circle { ring: Some(_), .. }))
            .count();
        assert_eq!(rings, 2 + 1, "two Pareto points and the legend's");
        for i in &scene.items {
            if let Item::Circle { cx, cy, r, .. } = i {
                assert!(cx + r <= scene.width && cy + r <= scene.height);
            }
        }
    }
}
