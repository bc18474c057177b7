//! `train` on the candle engine: Caffe's Solve/Step over a [`CandleSolver`],
//! built from the native solver's pieces (smoothed loss, display and rate lines,
//! test scoring, snapshot files). The weights stay on the device; they come to
//! the host only to test (the test nets run on the native engine with the
//! training net's weights, as Caffe shares them) and to snapshot (ordinary
//! .caffemodel and .solverstate files).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{CandleNet, CandleSolver};
use crate::error::{Error, Result};
use crate::log::info;
use crate::net::Net;
use crate::solver::snapshot_files::snapshot_path;
use crate::solver::solve::{
    log_display, log_rate, output_values, smooth_loss, snapshot_weights, test_and_log,
    write_solverstate, SolverState, TestNet, SNAPSHOT_REQUESTED, STOP_REQUESTED,
};

/// A candle training run: the solver, the test nets (on the host) and where
/// snapshots go.
pub struct CandleTraining<'a> {
    pub solver: CandleSolver,
    pub test_nets: Vec<TestNet>,
    pub snapshot_prefix: &'a Path,
    losses: Vec<f32>,
    smoothed_loss: f32,
    start_iter: i32,
    /// The iteration of the last snapshot written (a requested or final
    /// snapshot is not written twice).
    last_snapshot: Option<i32>,
}

/// Data layers read their own sources: nothing to feed.
fn no_feed(_: &mut CandleNet) -> Result<()> {
    Ok(())
}

fn no_test_feed(_: &mut Net) -> Result<()> {
    Ok(())
}

impl<'a> CandleTraining<'a> {
    pub fn new(solver: CandleSolver, test_nets: Vec<TestNet>, snapshot_prefix: &'a Path) -> Self {
        CandleTraining {
            solver,
            test_nets,
            snapshot_prefix,
            losses: Vec::new(),
            smoothed_loss: 0.0,
            start_iter: 0,
            last_snapshot: None,
        }
    }

    /// Caffe's Solve: iterations to max_iter (testing, display, snapshots), the
    /// final snapshot, display and test. Stops early on a stop request.
    pub fn solve(&mut self) -> Result<()> {
        let s = &self.solver;
        info(
            "solver.cpp:289",
            &format!("Solving {}", s.net.net.graph.name),
        );
        info(
            "solver.cpp:290",
            &format!("Learning Rate Policy: {}", s.rules.lr_policy.name()),
        );
        self.start_iter = s.iter;
        let (display, interval, snapshot) = (
            s.param.display(),
            s.param.test_interval(),
            s.param.snapshot(),
        );
        let mut timer = Instant::now();
        let mut iterations_last = s.iter;
        while self.solver.iter < self.solver.param.max_iter() {
            let iter = self.solver.iter;
            if interval > 0
                && iter % interval == 0
                && (iter > 0 || self.solver.param.test_initialization())
            {
                self.test()?;
                if STOP_REQUESTED.load(Ordering::SeqCst) {
                    break;
                }
            }
            let loss = self.solver.forward_backward(&mut no_feed)?;
            if !loss.is_finite() {
                return Err(Error::Usage(format!(
                    "training diverged at iteration {iter}: the loss is {loss} (lower base_lr)"
                )));
            }
            self.smooth(loss);
            let displayed = display > 0 && iter % display == 0;
            if displayed {
                let lapse = timer.elapsed().as_secs_f32();
                let per_s = (iter - iterations_last) as f32 / if lapse > 0.0 { lapse } else { 1.0 };
                self.solver.net.outputs_to_host()?;
                let outputs = output_values(&self.solver.net.net);
                log_display(iter, per_s, lapse, display, self.smoothed_loss, outputs);
                timer = Instant::now();
                iterations_last = iter;
            }
            let rate = self.solver.apply_update().map_err(candle)?;
            if displayed {
                log_rate(iter, rate);
            }
            self.solver.iter += 1;
            let iter = self.solver.iter;
            let requested = SNAPSHOT_REQUESTED.swap(false, Ordering::SeqCst);
            if (snapshot > 0 && iter % snapshot == 0) || requested {
                self.snapshot()?;
            }
            if STOP_REQUESTED.load(Ordering::SeqCst) {
                break;
            }
        }
        let iter = self.solver.iter;
        if self.solver.param.snapshot_after_train() {
            self.snapshot()?;
        }
        if STOP_REQUESTED.load(Ordering::SeqCst) {
            info("solver.cpp:310", "Optimization stopped early.");
            return Ok(());
        }
        if display > 0 && iter % display == 0 {
            let loss = self.solver.net.forward()?;
            self.smooth(loss);
            info(
                "solver.cpp:320",
                &format!("Iteration {iter}, loss = {}", self.smoothed_loss),
            );
        }
        if interval > 0 && iter % interval == 0 {
            self.test()?;
        }
        info("solver.cpp:325", "Optimization Done.");
        Ok(())
    }

    fn smooth(&mut self, loss: f32) {
        let window = self.solver.param.average_loss().max(1) as usize;
        let position = (self.solver.iter - self.start_iter) as usize;
        smooth_loss(
            &mut self.losses,
            &mut self.smoothed_loss,
            window,
            position,
            loss,
        );
    }

    /// Brings the weights to the host and tests every test net with them.
    fn test(&mut self) -> Result<()> {
        self.solver.net.write_params_to_host()?;
        let compute_loss = self.solver.param.test_compute_loss();
        test_and_log(
            &self.solver.net.net,
            &mut self.test_nets,
            &mut no_test_feed,
            compute_loss,
            self.solver.iter,
        )?;
        Ok(())
    }

    /// Writes this iteration's .caffemodel and .solverstate from the device's
    /// weights and history, unless written already.
    fn snapshot(&mut self) -> Result<()> {
        let iter = self.solver.iter;
        if self.last_snapshot == Some(iter) {
            return Ok(());
        }
        self.solver.net.write_params_to_host()?;
        let net = &self.solver.net.net;
        let model = snapshot_weights(net, self.snapshot_prefix, iter)?;
        let history = self.solver.history_to_host()?;
        let state = SolverState {
            iter,
            current_step: self.solver.current_step(),
            history: &history,
        };
        let state_path = snapshot_path(self.snapshot_prefix, iter, ".solverstate");
        write_solverstate(net, &state_path, &model, &state)?;
        self.last_snapshot = Some(iter);
        Ok(())
    }
}

fn candle(e: candle_core::Error) -> Error {
    Error::Usage(format!("candle engine: {e}"))
}
