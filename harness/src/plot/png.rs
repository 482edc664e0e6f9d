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
    fn encodes_a_valid_png() {
        let bytes = render(&Scene::new(3, 2)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (3, 2));
    }
}
