//! A [`Scene`] rasterized to RGB pixels and encoded as PNG. Text uses the public
//! domain 8x8 bitmap font of the `font8x8` crate, scaled by whole factors.

use super::scene::{text_width, Anchor, Item, Rgb, Scene};
use anyhow::{Context, Result};
use font8x8::UnicodeFonts;

/// The PNG bytes of `scene`.
pub fn render(scene: &Scene) -> Result<Vec<u8>> {
    let pixels = rasterize(scene);
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, scene.width.max(1), scene.height.max(1));
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("writing the PNG header")?;
    writer.write_image_data(&pixels).context("writing the PNG pixels")?;
    writer.finish().context("finishing the PNG")?;
    Ok(bytes)
}

/// RGB bytes, row-major, of `scene` on a white background.
pub fn rasterize(scene: &Scene) -> Vec<u8> {
    let (w, h) = (scene.width.max(1), scene.height.max(1));
    let mut canvas = Canvas {
        w,
        h,
        px: vec![255u8; (w * h * 3) as usize],
    };
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
                canvas.fill(*x, *y, *w, *h, *fill);
                if let Some(c) = stroke {
                    canvas.fill(*x, *y, *w, 1, *c);
                    canvas.fill(*x, (y + h).saturating_sub(1), *w, 1, *c);
                    canvas.fill(*x, *y, 1, *h, *c);
                    canvas.fill((x + w).saturating_sub(1), *y, 1, *h, *c);
                }
            }
            Item::Line {
                x1,
                y1,
                x2,
                y2,
                color,
                width,
            } => canvas.segment((*x1, *y1), (*x2, *y2), *color, *width),
            Item::Path { points, color, width } => {
                for pair in points.windows(2) {
                    canvas.segment(pair[0], pair[1], *color, *width);
                }
            }
            Item::Circle { cx, cy, r, fill, ring } => {
                let outer = *r + ring.map_or(0, |(_, w)| w / 2);
                if let Some((c, _)) = ring {
                    canvas.disc(*cx, *cy, outer, *c);
                }
                canvas.disc(
                    *cx,
                    *cy,
                    r.saturating_sub(ring.map_or(0, |(_, w)| w.div_ceil(2))),
                    *fill,
                );
            }
            Item::Text {
                x,
                y,
                text,
                size,
                color,
                anchor,
            } => canvas.text(*x, *y, text, *size, *color, *anchor),
        }
    }
    canvas.px
}

struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as u32) < self.w && (y as u32) < self.h {
            let i = ((y as u32 * self.w + x as u32) * 3) as usize;
            self.px[i..i + 3].copy_from_slice(&[c.0, c.1, c.2]);
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, c: Rgb) {
        for yy in y..(y + h).min(self.h) {
            for xx in x..(x + w).min(self.w) {
                self.set(xx as i64, yy as i64, c);
            }
        }
    }

    /// A line from `a` to `b`, `width` pixels wide: a square pen stepped one pixel at a time.
    fn segment(&mut self, a: (u32, u32), b: (u32, u32), c: Rgb, width: u32) {
        let (x0, y0, x1, y1) = (a.0 as i64, a.1 as i64, b.0 as i64, b.1 as i64);
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        let half = (width.max(1) as i64 - 1) / 2;
        for s in 0..=steps {
            let x = x0 + (x1 - x0) * s / steps;
            let y = y0 + (y1 - y0) * s / steps;
            for dy in -half..=(width.max(1) as i64 - 1 - half) {
                for dx in -half..=(width.max(1) as i64 - 1 - half) {
                    self.set(x + dx, y + dy, c);
                }
            }
        }
    }

    /// A filled disc of radius `r` around (`cx`, `cy`).
    fn disc(&mut self, cx: u32, cy: u32, r: u32, c: Rgb) {
        let (cx, cy, r) = (cx as i64, cy as i64, r as i64);
        for y in -r..=r {
            for x in -r..=r {
                if x * x + y * y <= r * r {
                    self.set(cx + x, cy + y, c);
                }
            }
        }
    }

    fn text(&mut self, x: u32, y: u32, text: &str, size: u32, c: Rgb, anchor: Anchor) {
        let scale = (size / 8).max(1) as i64;
        let width = text_width(text.chars().count(), 8 * scale as u32) as i64;
        let left = match anchor {
            Anchor::Start => x as i64,
            Anchor::Middle => x as i64 - width / 2,
            Anchor::End => x as i64 - width,
        };
        let top = y as i64 - 4 * scale;
        for (i, ch) in text.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                let px = left + (i as i64 * 8 + col) * scale + dx;
                                self.set(px, top + row as i64 * scale + dy, c);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rects_and_text_land_where_asked() {
        let mut scene = Scene::new(40, 20);
        scene.rect(2, 3, 4, 5, Rgb(10, 20, 30), None);
        scene.text(20, 10, "I", 8, Rgb::BLACK, Anchor::Start);
        let px = rasterize(&scene);
        let at = |x: u32, y: u32| {
            let i = ((y * 40 + x) * 3) as usize;
            (px[i], px[i + 1], px[i + 2])
        };
        assert_eq!(at(2, 3), (10, 20, 30));
        assert_eq!(at(5, 7), (10, 20, 30));
        assert_eq!(at(6, 7), (255, 255, 255));
        let dark = (20..28)
            .flat_map(|x| (6..14).map(move |y| (x, y)))
            .filter(|&(x, y)| at(x, y) == (0, 0, 0));
        assert!(dark.count() >= 8, "the glyph 'I' draws pixels");
    }

    #[test]
    fn lines_and_discs_draw_pixels() {
        let mut scene = Scene::new(30, 30);
        scene.line((0, 5), (29, 5), Rgb(1, 2, 3), 1);
        scene.path(vec![(0, 0), (20, 20)], Rgb(4, 5, 6), 1);
        scene.circle((25, 25), 3, Rgb(7, 8, 9), None);
        let px = rasterize(&scene);
        let at = |x: u32, y: u32| {
            let i = ((y * 30 + x) * 3) as usize;
            (px[i], px[i + 1], px[i + 2])
        };
        assert_eq!(at(17, 5), (1, 2, 3));
        assert_eq!(at(10, 10), (4, 5, 6));
        assert_eq!(at(25, 25), (7, 8, 9));
        assert_eq!(at(25, 22), (7, 8, 9));
        assert_eq!(at(21, 21), (255, 255, 255));
    }

    #[test]
    fn encodes_a_valid_png() {
        let bytes = render(&Scene::new(3, 2)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (3, 2));
    }
}
