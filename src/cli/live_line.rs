//! The live progress line `train` shows on a terminal: iteration/max, smoothed
//! loss, lr, iterations and images per second, and the time left. Log lines are
//! printed above it (see [`super::output`]).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::solver::progress::{IterationReport, Progress, TestScores};

pub struct LiveLine {
    bar: ProgressBar,
    /// Images one iteration reads (batch size × iter_size), for images/s.
    images_per_iter: usize,
}

impl LiveLine {
    /// A line for a run at `start` of `max_iter` iterations, drawn on stderr.
    pub fn new(start: i32, max_iter: i32, images_per_iter: usize) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(max_iter.max(0) as u64),
            ProgressDrawTarget::stderr_with_hz(4),
        );
        bar.set_style(
            ProgressStyle::with_template("{wide_bar:.cyan/blue} {pos}/{len} {msg}  ETA {eta}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        // Iterations before a resume are not this run's speed.
        bar.set_position(start.max(0) as u64);
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(500));
        LiveLine {
            bar,
            images_per_iter,
        }
    }

    /// The handle log lines are printed above, and that is finished at the end.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }
}

impl Progress for LiveLine {
    fn iteration(&mut self, r: &IterationReport) {
        let per_s = self.bar.per_sec();
        self.bar.set_message(format!(
            "loss {:.4}  lr {:.2e}  {:.1} it/s  {:.0} img/s",
            r.smoothed_loss,
            r.lr,
            per_s,
            per_s * self.images_per_iter as f64
        ));
        self.bar.set_position((r.iter + 1).max(0) as u64);
    }

    fn tested(&mut self, _: i32, _: &TestScores) {}
}
