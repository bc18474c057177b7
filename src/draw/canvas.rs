//! A layout-rs render backend that records what the laid-out graph draws (boxes,
//! ovals, text, edge curves flattened to polylines) and its bounds, so one
//! plotters renderer ([`super::render`]) writes it as SVG or PNG with the
//! pictures' font.

use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;

/// An RGBA colour as layout-rs keeps it (`0xRRGGBBAA`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgba(pub u32);

impl Rgba {
    fn of(c: Color) -> Rgba {
        let web = c.to_web_color();
        Rgba(u32::from_str_radix(web.trim_start_matches('#'), 16).unwrap_or(0xff))
    }

    pub fn channels(self) -> (u8, u8, u8, f64) {
        let [r, g, b, a] = self.0.to_be_bytes();
        (r, g, b, f64::from(a) / 255.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// A box: top-left corner, size, fill, outline.
    Rect {
        at: (f64, f64),
        size: (f64, f64),
        fill: Option<Rgba>,
        line: Rgba,
    },
    /// An oval: centre, full width and height.
    Oval {
        centre: (f64, f64),
        size: (f64, f64),
        fill: Option<Rgba>,
        line: Rgba,
    },
    /// Lines of text centred on a point.
    Text {
        centre: (f64, f64),
        text: String,
        font_size: f64,
    },
    /// A polyline, with an arrow head at its end when `head`.
    Path {
        points: Vec<(f64, f64)>,
        line: Rgba,
        head: bool,
    },
}

#[derive(Debug, Default)]
pub struct Canvas {
    pub marks: Vec<Mark>,
    /// Smallest and largest corner of everything drawn.
    pub min: (f64, f64),
    pub max: (f64, f64),
}

/// Points along a cubic Bézier curve from `a` to `d` with controls `b`, `c`.
fn cubic(a: Point, b: Point, c: Point, d: Point, out: &mut Vec<(f64, f64)>) {
    const STEPS: usize = 16;
    for i in 1..=STEPS {
        let t = i as f64 / STEPS as f64;
        let u = 1.0 - t;
        let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
        out.push((
            w[0] * a.x + w[1] * b.x + w[2] * c.x + w[3] * d.x,
            w[0] * a.y + w[1] * b.y + w[2] * c.y + w[3] * d.y,
        ));
    }
}

impl Canvas {
    pub fn new() -> Self {
        Canvas {
            marks: Vec::new(),
            min: (f64::INFINITY, f64::INFINITY),
            max: (f64::NEG_INFINITY, f64::NEG_INFINITY),
        }
    }

    fn grow(&mut self, x: f64, y: f64) {
        self.min = (self.min.0.min(x), self.min.1.min(y));
        self.max = (self.max.0.max(x), self.max.1.max(y));
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        _: Option<String>,
        _: Option<ClipHandle>,
    ) {
        self.grow(xy.x, xy.y);
        self.grow(xy.x + size.x, xy.y + size.y);
        self.marks.push(Mark::Rect {
            at: (xy.x, xy.y),
            size: (size.x, size.y),
            fill: look.fill_color.map(Rgba::of),
            line: Rgba::of(look.line_color),
        });
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, _: Option<String>) {
        self.grow(start.x, start.y);
        self.grow(stop.x, stop.y);
        self.marks.push(Mark::Path {
            points: vec![(start.x, start.y), (stop.x, stop.y)],
            line: Rgba::of(look.line_color),
            head: false,
        });
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _: Option<String>) {
        self.grow(xy.x - size.x / 2.0, xy.y - size.y / 2.0);
        self.grow(xy.x + size.x / 2.0, xy.y + size.y / 2.0);
        self.marks.push(Mark::Oval {
            centre: (xy.x, xy.y),
            size: (size.x, size.y),
            fill: look.fill_color.map(Rgba::of),
            line: Rgba::of(look.line_color),
        });
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        self.grow(xy.x, xy.y);
        self.marks.push(Mark::Text {
            centre: (xy.x, xy.y),
            text: text.to_string(),
            font_size: look.font_size as f64,
        });
    }

    /// `path` is layout-rs's curve: (start, control) then (control, end) pairs,
    /// as SVG's `M p C c c p S c p …` (the first control of each later piece is
    /// the previous one mirrored).
    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        _: bool,
        head: (bool, bool),
        look: &StyleAttr,
        _: Option<String>,
        text: &str,
    ) {
        if path.len() < 2 {
            return;
        }
        let mut points = vec![(path[0].0.x, path[0].0.y)];
        cubic(path[0].0, path[0].1, path[1].0, path[1].1, &mut points);
        for w in path.windows(2).skip(1) {
            let (prev_control, start) = w[0];
            let mirrored = Point::new(
                2.0 * start.x - prev_control.x,
                2.0 * start.y - prev_control.y,
            );
            cubic(start, mirrored, w[1].0, w[1].1, &mut points);
        }
        for &(x, y) in &points {
            self.grow(x, y);
        }
        if !text.is_empty() {
            let mid = points[points.len() / 2];
            self.marks.push(Mark::Text {
                centre: mid,
                text: text.to_string(),
                font_size: look.font_size as f64,
            });
        }
        self.marks.push(Mark::Path {
            points,
            line: Rgba::of(look.line_color),
            head: head.1,
        });
    }

    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        0
    }
}
