//! Curves recorded during training and redrawn into a file at each test pass
//! (`<snapshot_prefix>_curves.svg`): the same series [`super::glog`] reads back
//! from the run's log.

use std::path::PathBuf;

use super::chart::write_chart;
use super::Run;
use crate::log::info;
use crate::solver::progress::{IterationReport, Progress, TestScores};

pub struct CurvesRecorder {
    run: Run,
    path: PathBuf,
    /// A failed write is reported once, not at every test pass.
    failed: bool,
}

impl CurvesRecorder {
    /// Records a run called `name` (the legend's title) and draws it into `path`.
    pub fn new(name: &str, path: PathBuf) -> Self {
        CurvesRecorder {
            run: Run::new(name),
            path,
            failed: false,
        }
    }
}

impl Progress for CurvesRecorder {
    fn iteration(&mut self, r: &IterationReport) {
        if r.displayed {
            let iter = f64::from(r.iter);
            self.run.train_loss.push((iter, f64::from(r.smoothed_loss)));
            self.run.lr.push((iter, f64::from(r.lr)));
        }
    }

    fn tested(&mut self, iter: i32, scores: &TestScores) {
        for (net, outputs) in scores.iter().enumerate() {
            for (name, value) in outputs {
                self.run
                    .add_test(net, name, f64::from(iter), f64::from(*value));
            }
        }
        // Curves are a view of the run: a file that cannot be written does not stop it.
        if let Err(e) = write_chart(std::slice::from_ref(&self.run), &self.path) {
            if !self.failed {
                info("curves.rs:1", &format!("warning: no training curves: {e}"));
                self.failed = true;
            }
        }
    }
}
