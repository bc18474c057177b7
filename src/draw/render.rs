//! Laying a [`Diagram`] out (layout-rs: layered, Graphviz-style, pure Rust) and
//! drawing it with plotters as SVG or PNG, in Caffe's draw_net colours.

use std::path::Path;

use layout::core::base::Orientation;
use layout::core::color::Color as LayoutColor;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{Canvas, Mark, Rgba};
use super::diagram::{Diagram, NodeKind};
use crate::error::Result;
use crate::picture::{drawing_error, font::FAMILY, write_picture};

/// Which way the layers flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankDir {
    /// Top to bottom.
    #[default]
    TopBottom,
    /// Left to right.
    LeftRight,
}

const FONT_SIZE: usize = 13;
/// Empty space around the drawing, in pixels.
const MARGIN: f64 = 16.0;

/// Caffe's draw.py colours: by layer type, neutral grey for blobs.
fn fill_of(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Blob => "#E0E0E0",
        NodeKind::Layer(t) => match t.as_str() {
            "Convolution" | "Deconvolution" => "#FF5050",
            "Pooling" => "#FF9900",
            "InnerProduct" => "#CC33FF",
            "ReLU" | "PReLU" | "Sigmoid" | "TanH" | "ELU" | "BatchNorm" | "Scale" | "Dropout" => {
                "#90EE90"
            }
            _ => "#6495ED",
        },
    }
}

/// Lays the diagram out and records what it draws.
fn lay_out(d: &Diagram, dir: RankDir) -> Canvas {
    let orientation = match dir {
        RankDir::TopBottom => Orientation::TopToBottom,
        RankDir::LeftRight => Orientation::LeftToRight,
    };
    let mut vg = VisualGraph::new(orientation);
    let handles: Vec<_> = d
        .nodes
        .iter()
        .map(|n| {
            let shape = match n.kind {
                NodeKind::Blob => ShapeKind::new_circle(&n.label),
                NodeKind::Layer(_) => ShapeKind::new_box(&n.label),
            };
            let look = StyleAttr::new(
                LayoutColor::fast("black"),
                1,
                LayoutColor::from_name(fill_of(&n.kind)),
                if n.kind == NodeKind::Blob { 0 } else { 4 },
                FONT_SIZE,
            );
            let size = get_shape_size(orientation, &shape, FONT_SIZE, false);
            vg.add_node(Element::create(shape, look, orientation, size))
        })
        .collect();
    let edge_look = StyleAttr::new(LayoutColor::fast("black"), 1, None, 0, FONT_SIZE - 2);
    for e in &d.edges {
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            LineStyleKind::Normal,
            &e.label,
            &edge_look,
            &None,
            &None,
        );
        vg.add_edge(arrow, handles[e.from], handles[e.to]);
    }
    let mut canvas = Canvas::new();
    if !d.nodes.is_empty() {
        vg.do_it(false, false, false, &mut canvas);
    }
    canvas
}

/// Draws `d` into `path` (.svg or .png).
pub fn write_drawing(d: &Diagram, dir: RankDir, path: &Path) -> Result<()> {
    let canvas = lay_out(d, dir);
    let (w, h) = if canvas.marks.is_empty() {
        (1.0, 1.0)
    } else {
        (canvas.max.0 - canvas.min.0, canvas.max.1 - canvas.min.1)
    };
    let size = (
        (w + 2.0 * MARGIN).ceil() as u32,
        (h + 2.0 * MARGIN).ceil() as u32,
    );
    write_picture(
        path,
        size,
        |svg| {
            let root = SVGBackend::with_string(svg, size).into_drawing_area();
            replay(&root, &canvas).map_err(|e| drawing_error(path, e))
        },
        |rgb| {
            let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
            replay(&root, &canvas).map_err(|e| drawing_error(path, e))
        },
    )
}

fn colour(c: Rgba) -> RGBAColor {
    let (r, g, b, a) = c.channels();
    RGBAColor(r, g, b, a)
}

/// Points of an oval's outline.
fn oval(centre: (f64, f64), size: (f64, f64)) -> Vec<(f64, f64)> {
    (0..=48)
        .map(|i| {
            let t = i as f64 / 48.0 * std::f64::consts::TAU;
            (
                centre.0 + size.0 / 2.0 * t.cos(),
                centre.1 + size.1 / 2.0 * t.sin(),
            )
        })
        .collect()
}

/// The two back corners of an arrow head at the end of `from → to`.
fn head(from: (f64, f64), to: (f64, f64)) -> [(f64, f64); 3] {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let (l, w) = (9.0, 4.0);
    [
        to,
        (to.0 - ux * l - uy * w, to.1 - uy * l + ux * w),
        (to.0 - ux * l + uy * w, to.1 - uy * l - ux * w),
    ]
}

fn replay<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    canvas: &Canvas,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let px = |(x, y): (f64, f64)| -> (i32, i32) {
        (
            (x - canvas.min.0 + MARGIN).round() as i32,
            (y - canvas.min.1 + MARGIN).round() as i32,
        )
    };
    let pxs =
        |points: &[(f64, f64)]| -> Vec<(i32, i32)> { points.iter().map(|&p| px(p)).collect() };
    for mark in &canvas.marks {
        match mark {
            Mark::Rect {
                at,
                size,
                fill,
                line,
            } => {
                let corners = [px(*at), px((at.0 + size.0, at.1 + size.1))];
                if let Some(f) = fill {
                    root.draw(&Rectangle::new(corners, colour(*f).filled()))?;
                }
                root.draw(&Rectangle::new(corners, colour(*line).stroke_width(1)))?;
            }
            Mark::Oval {
                centre,
                size,
                fill,
                line,
            } => {
                let outline = pxs(&oval(*centre, *size));
                if let Some(f) = fill {
                    root.draw(&Polygon::new(outline.clone(), colour(*f).filled()))?;
                }
                root.draw(&PathElement::new(outline, colour(*line).stroke_width(1)))?;
            }
            Mark::Text {
                centre,
                text,
                font_size,
            } => {
                let lines: Vec<&str> = text.lines().collect();
                let step = font_size * 1.2;
                let top = centre.1 - step * (lines.len() as f64 - 1.0) / 2.0;
                let style = TextStyle::from((FAMILY, *font_size).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Center))
                    .color(&BLACK);
                for (i, line) in lines.iter().enumerate() {
                    let at = px((centre.0, top + step * i as f64));
                    root.draw(&Text::new(line.to_string(), at, style.clone()))?;
                }
            }
            Mark::Path {
                points,
                line,
                head: with_head,
            } => {
                let c = colour(*line);
                root.draw(&PathElement::new(pxs(points), c.stroke_width(1)))?;
                if *with_head && points.len() >= 2 {
                    let n = points.len();
                    let tip = head(points[n - 2], points[n - 1]);
                    root.draw(&Polygon::new(pxs(&tip), c.filled()))?;
                }
            }
        }
    }
    root.present()
}
