//! Score heat maps: one panel per method, rows and columns labelled (for NIAH,
//! depth top to bottom and context length left to right, as in the papers'
//! figures), cells colored red (0) to green (1) with the score written in them.

use super::scene::{score_color, text_width, Anchor, Rgb, Scene};

/// One panel: a title and a grid of scores (`None` = not measured, drawn gray).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapPanel {
    /// Panel title, e.g. the method and its budget.
    pub title: String,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Column labels, left to right.
    pub cols: Vec<String>,
    /// `values[row][col]` in [0, 1].
    pub values: Vec<Vec<Option<f64>>>,
}

const CELL_W: u32 = 48;
const CELL_H: u32 = 20;
const FONT: u32 = 8;
const TITLE: u32 = 16;
const GAP: u32 = 28;
const PANELS_PER_LINE: usize = 3;

/// The figure: a title, the panels in lines of three, axis labels and a color bar.
pub fn heatmap_scene(title: &str, x_label: &str, y_label: &str, panels: &[HeatmapPanel]) -> Scene {
    let rows = panels.iter().map(|p| p.rows.len()).max().unwrap_or(0) as u32;
    let cols = panels.iter().map(|p| p.cols.len()).max().unwrap_or(0) as u32;
    let label_w = panels
        .iter()
        .flat_map(|p| p.rows.iter())
        .map(|r| text_width(r.len(), FONT))
        .max()
        .unwrap_or(0)
        .max(text_width(y_label.len(), FONT) / 2)
        + 8;
    let grid_w = cols * CELL_W;
    let grid_h = rows * CELL_H;
    let title_w = panels
        .iter()
        .map(|p| text_width(p.title.len(), FONT))
        .max()
        .unwrap_or(0);
    let panel_w = label_w + grid_w.max(title_w.saturating_sub(label_w)) + GAP;
    let panel_h = 2 * 14 + grid_h + 2 * 14 + GAP / 2;
    let per_line = panels.len().clamp(1, PANELS_PER_LINE) as u32;
    let lines = panels.len().div_ceil(PANELS_PER_LINE).max(1) as u32;
    let top = TITLE + 24;
    let bar_w = 70;
    let width = (GAP + per_line * panel_w + bar_w).max(text_width(title.len(), TITLE) + 2 * GAP);
    let height = top + lines * panel_h + 8;
    let mut s = Scene::new(width, height);
    s.text(GAP, TITLE / 2 + 8, title, TITLE, Rgb::BLACK, Anchor::Start);
    for (i, p) in panels.iter().enumerate() {
        let px = GAP + (i % PANELS_PER_LINE) as u32 * panel_w;
        let py = top + (i / PANELS_PER_LINE) as u32 * panel_h;
        draw_panel(&mut s, p, px, py, label_w, y_label, x_label);
    }
    // Color bar, right of the first line of panels.
    let bx = GAP + per_line * panel_w;
    let by = top + 2 * 14;
    let steps = 20;
    let step_h = (grid_h.max(CELL_H * 5) / steps).max(1);
    for k in 0..steps {
        let v = 1.0 - k as f64 / (steps - 1) as f64;
        s.rect(bx, by + k * step_h, 14, step_h, score_color(v), None);
    }
    for (v, y) in [(1.0, by), (0.5, by + steps * step_h / 2), (0.0, by + steps * step_h)] {
        s.text(bx + 20, y, format!("{v:.1}"), FONT, Rgb::BLACK, Anchor::Start);
    }
    s
}

fn draw_panel(s: &mut Scene, p: &HeatmapPanel, px: u32, py: u32, label_w: u32, y_label: &str, x_label: &str) {
    let gx = px + label_w;
    let gy = py + 2 * 14;
    s.text(gx, py + 6, &p.title, FONT, Rgb::BLACK, Anchor::Start);
    s.text(gx - 4, py + 20, y_label, FONT, Rgb::GRAY, Anchor::End);
    for (r, label) in p.rows.iter().enumerate() {
        let cy = gy + r as u32 * CELL_H + CELL_H / 2;
        s.text(gx - 4, cy, label, FONT, Rgb::BLACK, Anchor::End);
    }
    for (c, label) in p.cols.iter().enumerate() {
        let cx = gx + c as u32 * CELL_W + CELL_W / 2;
        s.text(
            cx,
            gy + p.rows.len() as u32 * CELL_H + 8,
            label,
            FONT,
            Rgb::BLACK,
            Anchor::Middle,
        );
    }
    let grid_w = p.cols.len() as u32 * CELL_W;
    s.text(
        gx + grid_w / 2,
        gy + p.rows.len() as u32 * CELL_H + 22,
        x_label,
        FONT,
        Rgb::GRAY,
        Anchor::Middle,
    );
    for (r, line) in p.values.iter().enumerate() {
        for (c, v) in line.iter().enumerate() {
            let (x, y) = (gx + c as u32 * CELL_W, gy + r as u32 * CELL_H);
            let fill = v.map(score_color).unwrap_or(Rgb(220, 220, 220));
            s.rect(x, y, CELL_W, CELL_H, fill, Some(Rgb::WHITE));
            let text = v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
            s.text(x + CELL_W / 2, y + CELL_H / 2, text, FONT, Rgb::BLACK, Anchor::Middle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::scene::Item;
    use super::*;

    fn panel(title: &str, v: f64) -> HeatmapPanel {
        HeatmapPanel {
            title: title.into(),
            rows: vec!["0".into(), "50".into(), "100".into()],
            cols: vec!["4k".into(), "16k".into()],
            values: vec![
                vec![Some(1.0), Some(v)],
                vec![Some(0.0), None],
                vec![Some(1.0), Some(1.0)],
            ],
        }
    }

    #[test]
    fn one_cell_per_score_colored_by_value() {
        let scene = heatmap_scene(
            "NIAH",
            "context length",
            "depth %",
            &[panel("dense", 1.0), panel("a-shape", 0.0)],
        );
        let cells: Vec<Rgb> = scene
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Rect {
                    w: CELL_W,
                    h: CELL_H,
                    fill,
                    ..
                } => Some(*fill),
                _ => None,
            })
            .collect();
        assert_eq!(cells.len(), 12, "two panels of 3 x 2 cells");
        assert_eq!(cells[0], score_color(1.0));
        assert_eq!(cells[2], score_color(0.0));
        assert_eq!(cells[3], Rgb(220, 220, 220), "unmeasured cell is gray");
        let texts: Vec<&str> = scene
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        for t in [
            "NIAH",
            "dense",
            "a-shape",
            "16k",
            "depth %",
            "context length",
            "0.00",
            "1.0",
        ] {
            assert!(texts.contains(&t), "missing {t}");
        }
        // Everything fits on the canvas.
        for i in &scene.items {
            if let Item::Rect { x, y, w, h, .. } = i {
                assert!(x + w <= scene.width && y + h <= scene.height);
            }
        }
    }
}
