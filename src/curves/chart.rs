//! One chart of training curves: losses and test scores against iterations on
//! the left axis, the learning rate on a second axis at the right, every run of
//! several in its own colours (legend: run name and series).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Points, Run};
use crate::error::Result;
use crate::picture::{drawing_error, font::FAMILY, write_picture};

/// Pixels of a chart.
const SIZE: (u32, u32) = (960, 540);

/// Draws `runs` into `path` (.svg or .png).
pub fn write_chart(runs: &[Run], path: &Path) -> Result<()> {
    write_picture(
        path,
        SIZE,
        |svg| {
            let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
            draw(&root, runs).map_err(|e| drawing_error(path, e))
        },
        |rgb| {
            let root = BitMapBackend::with_buffer(rgb, SIZE).into_drawing_area();
            draw(&root, runs).map_err(|e| drawing_error(path, e))
        },
    )
}

/// The finite points of a series (a diverged run logs `nan`).
fn finite(points: &Points) -> impl Iterator<Item = (f64, f64)> + '_ {
    points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// 0 to the largest value of `series` (with a little room above), at least `0..1e-12`.
fn range_of<'a>(series: impl Iterator<Item = &'a Points>, pick: fn((f64, f64)) -> f64) -> f64 {
    let max = series.flat_map(finite).map(pick).fold(0.0_f64, f64::max);
    if max > 0.0 {
        max * 1.05
    } else {
        1.0
    }
}

/// The name a series has in the legend.
fn label(runs: &[Run], run: &Run, series: &str) -> String {
    if runs.len() > 1 {
        format!("{}: {series}", run.name)
    } else {
        series.to_string()
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[Run],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let left = || {
        runs.iter()
            .flat_map(|r| std::iter::once(&r.train_loss).chain(r.test.iter().map(|(_, p)| p)))
    };
    let every = || {
        runs.iter()
            .flat_map(|r| [&r.train_loss, &r.lr])
            .chain(left())
    };
    let x_max = range_of(every(), |(x, _)| x);
    let y_max = range_of(left(), |(_, y)| y);
    let lr_max = range_of(runs.iter().map(|r| &r.lr), |(_, y)| y);
    let title = if runs.len() == 1 {
        runs[0].name.clone()
    } else {
        "training curves".to_string()
    };
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?
        .set_secondary_coord(0.0..x_max, 0.0..lr_max);
    chart
        .configure_mesh()
        .x_desc("iterations")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("loss, test scores")
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("learning rate")
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .draw()?;
    let mut colour = 0;
    let mut next_colour = || {
        colour += 1;
        Palette99::pick(colour - 1).to_rgba()
    };
    for run in runs {
        let mut left_series = vec![("train loss".to_string(), &run.train_loss)];
        left_series.extend(run.test.iter().map(|(n, p)| (n.clone(), p)));
        for (name, points) in left_series.into_iter().filter(|(_, p)| !p.is_empty()) {
            let c = next_colour();
            chart
                .draw_series(LineSeries::new(finite(points), c.stroke_width(2)))?
                .label(label(runs, run, &name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
        }
        if !run.lr.is_empty() {
            let c = next_colour();
            chart
                .draw_secondary_series(LineSeries::new(finite(&run.lr), c.stroke_width(1)))?
                .label(label(runs, run, "lr (right axis)"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(1))
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()
}
