//! A [`Scene`] as SVG text (monospace text, so widths match the PNG's bitmap font).

use super::scene::{Anchor, Item, Scene};
use std::fmt::Write;

/// The SVG document for `scene`.
pub fn render(scene: &Scene) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">"#,
        w = scene.width,
        h = scene.height
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for item in &scene.items {
        match item {
            Item::Rect {
                x,
                y,
                w,
                h,
                fill,
                stroke,
            } => {
                let stroke = stroke
                    .map(|c| format!(r#" stroke="{}" stroke-width="1""#, c.hex()))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{}"{stroke}/>"#,
                    fill.hex()
                );
            }
            Item::Line {
                x1,
                y1,
                x2,
                y2,
                color,
                width,
            } => {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{}" stroke-width="{width}"/>"#,
                    color.hex()
                );
            }
            Item::Path { points, color, width } => {
                let d: Vec<String> = points
                    .iter()
                    .enumerate()
                    .map(|(i, (x, y))| format!("{}{x} {y}", if i == 0 { "M" } else { "L" }))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<path d="{}" fill="none" stroke="{}" stroke-width="{width}"/>"#,
                    d.join(" "),
                    color.hex()
                );
            }
            Item::Circle { cx, cy, r, fill, ring } => {
                let ring = ring
                    .map(|(c, w)| format!(r#" stroke="{}" stroke-width="{w}""#, c.hex()))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    r#"<circle cx="{cx}" cy="{cy}" r="{r}" fill="{}"{ring}/>"#,
                    fill.hex()
                );
            }
            Item::Text {
                x,
                y,
                text,
                size,
                color,
                anchor,
            } => {
                let anchor = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{x}" y="{y}" font-family="monospace" font-size="{}" fill="{}" text-anchor="{anchor}" dominant-baseline="central">{}</text>"#,
                    // A monospace glyph is about 0.6 em wide; this makes it as wide as the bitmap font's.
                    (*size as f64 / 0.6).round(),
                    color.hex(),
                    escape(text)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::super::scene::Rgb;
    use super::*;

    #[test]
    fn renders_rects_and_escaped_text() {
        let mut scene = Scene::new(100, 50);
        scene.rect(1, 2, 3, 4, Rgb(255, 0, 0), Some(Rgb::BLACK));
        scene.text(10, 20, "a<b & c", 8, Rgb::BLACK, Anchor::Middle);
        let svg = render(&scene);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r##"<rect x="1" y="2" width="3" height="4" fill="#ff0000" stroke="#000000""##));
        assert!(svg.contains("a&lt;b &amp; c") && svg.contains(r#"text-anchor="middle""#));
    }

    #[test]
    fn renders_lines_paths_and_circles() {
        let mut scene = Scene::new(100, 50);
        scene.line((0, 1), (10, 1), Rgb::BLACK, 1);
        scene.path(vec![(1, 2), (3, 4), (5, 6)], Rgb(0, 0, 255), 2);
        scene.circle((7, 8), 3, Rgb::WHITE, Some((Rgb::BLACK, 2)));
        let svg = render(&scene);
        assert!(
            svg.contains(r##"<line x1="0" y1="1" x2="10" y2="1" stroke="#000000""##),
            "{svg}"
        );
        assert!(svg.contains(r##"<path d="M1 2 L3 4 L5 6" fill="none" stroke="#0000ff" stroke-width="2"/>"##));
        assert!(svg.contains(r##"<circle cx="7" cy="8" r="3" fill="#ffffff" stroke="#000000" stroke-width="2"/>"##));
    }
}
