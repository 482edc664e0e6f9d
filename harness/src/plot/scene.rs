//! A figure as a list of rectangles, lines, polylines, circles and text in pixel
//! coordinates (origin top left), the common input of the SVG and PNG backends.

/// An sRGB color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    /// White.
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    /// The gray of axis lines and cell borders.
    pub const GRAY: Rgb = Rgb(160, 160, 160);

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Where a text's `x` sits: its left end, middle or right end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `x` is the left end.
    Start,
    /// `x` is the middle.
    Middle,
    /// `x` is the right end.
    End,
}

/// One element of a figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A filled rectangle with an optional 1-pixel border.
    Rect {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width in pixels.
        w: u32,
        /// Height in pixels.
        h: u32,
        /// Fill color.
        fill: Rgb,
        /// Border color, if any.
        stroke: Option<Rgb>,
    },
    /// A straight line `width` pixels wide (axes, ticks, grid).
    Line {
        /// Start, x.
        x1: u32,
        /// Start, y.
        y1: u32,
        /// End, x.
        x2: u32,
        /// End, y.
        y2: u32,
        /// Line color.
        color: Rgb,
        /// Width in pixels.
        width: u32,
    },
    /// A data series: connected points (an SVG `<path>`), `width` pixels wide.
    Path {
        /// Vertices in drawing order.
        points: Vec<(u32, u32)>,
        /// Line color.
        color: Rgb,
        /// Width in pixels.
        width: u32,
    },
    /// A filled circle (a marker) with an optional ring.
    Circle {
        /// Centre, x.
        cx: u32,
        /// Centre, y.
        cy: u32,
        /// Radius in pixels.
        r: u32,
        /// Fill color.
        fill: Rgb,
        /// Ring color and width, if any.
        ring: Option<(Rgb, u32)>,
    },
    /// A line of text (ASCII), vertically centred on `y`.
    Text {
        /// Horizontal position (see `anchor`).
        x: u32,
        /// Vertical centre.
        y: u32,
        /// The text.
        text: String,
        /// Glyph height in pixels: 8 x a whole scale (8, 16, ...), so the bitmap font stays sharp.
        size: u32,
        /// Text color.
        color: Rgb,
        /// Horizontal anchoring.
        anchor: Anchor,
    },
}

/// A figure: a white canvas of `width x height` pixels and its items, drawn in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// Items, later ones drawn over earlier ones.
    pub items: Vec<Item>,
}

impl Scene {
    /// An empty white canvas.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            items: Vec::new(),
        }
    }

    /// Adds a rectangle.
    pub fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, fill: Rgb, stroke: Option<Rgb>) {
        self.items.push(Item::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke,
        });
    }

    /// Adds a straight line.
    pub fn line(&mut self, (x1, y1): (u32, u32), (x2, y2): (u32, u32), color: Rgb, width: u32) {
        self.items.push(Item::Line {
            x1,
            y1,
            x2,
            y2,
            color,
            width,
        });
    }

    /// Adds a polyline through `points`.
    pub fn path(&mut self, points: Vec<(u32, u32)>, color: Rgb, width: u32) {
        self.items.push(Item::Path { points, color, width });
    }

    /// Adds a circular marker.
    pub fn circle(&mut self, (cx, cy): (u32, u32), r: u32, fill: Rgb, ring: Option<(Rgb, u32)>) {
        self.items.push(Item::Circle { cx, cy, r, fill, ring });
    }

    /// The points of every path, in drawing order (what tests of a chart look at).
    #[cfg(test)]
    pub fn paths(&self) -> Vec<&[(u32, u32)]> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Path { points, .. } => Some(points.as_slice()),
                _ => None,
            })
            .collect()
    }

    /// A legend entry at `(x, y)`: a short line with a marker of radius `marker` in `color`, then `name`.
    pub fn legend_entry(&mut self, (x, y): (u32, u32), color: Rgb, marker: u32, name: &str, font: u32) {
        self.line((x, y), (x + 24, y), color, 2);
        self.circle((x + 12, y), marker, color, None);
        self.text(x + 32, y, name, font, Rgb::BLACK, Anchor::Start);
    }

    /// Adds a line of text.
    pub fn text(&mut self, x: u32, y: u32, text: impl Into<String>, size: u32, color: Rgb, anchor: Anchor) {
        self.items.push(Item::Text {
            x,
            y,
            text: text.into(),
            size,
            color,
            anchor,
        });
    }
}

/// Width in pixels of `chars` characters of the 8x8 font at glyph height `size`.
pub fn text_width(chars: usize, size: u32) -> u32 {
    chars as u32 * size
}

/// Distinct colors for data series (Okabe-Ito, readable by color-blind viewers), cycled.
pub fn series_color(i: usize) -> Rgb {
    const PALETTE: [Rgb; 8] = [
        Rgb(0, 114, 178),
        Rgb(230, 159, 0),
        Rgb(0, 158, 115),
        Rgb(204, 121, 167),
        Rgb(86, 180, 233),
        Rgb(213, 94, 0),
        Rgb(240, 228, 66),
        Rgb(0, 0, 0),
    ];
    PALETTE[i % PALETTE.len()]
}

/// The red-yellow-green scale of needle-in-a-haystack figures: 0 red, 0.5 yellow,
/// 1 green; values outside [0, 1] are clamped.
pub fn score_color(score: f64) -> Rgb {
    const STOPS: [(f64, [f64; 3]); 3] = [
        (0.0, [215.0, 48.0, 39.0]),
        (0.5, [254.0, 224.0, 139.0]),
        (1.0, [26.0, 152.0, 80.0]),
    ];
    let s = if score.is_finite() { score.clamp(0.0, 1.0) } else { 0.0 };
    let (lo, hi) = if s <= 0.5 {
        (STOPS[0], STOPS[1])
    } else {
        (STOPS[1], STOPS[2])
    };
    let t = (s - lo.0) / (hi.0 - lo.0);
    let c = |i: usize| (lo.1[i] + (hi.1[i] - lo.1[i]) * t).round() as u8;
    Rgb(c(0), c(1), c(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_scale_ends_and_middle() {
        assert_eq!(score_color(0.0), Rgb(215, 48, 39));
        assert_eq!(score_color(0.5), Rgb(254, 224, 139));
        assert_eq!(score_color(1.0), Rgb(26, 152, 80));
        assert_eq!(score_color(7.0), score_color(1.0));
        assert_eq!(score_color(f64::NAN), score_color(0.0));
        assert_eq!(Rgb(26, 152, 80).hex(), "#1a9850");
    }
}
