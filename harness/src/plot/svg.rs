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
}
