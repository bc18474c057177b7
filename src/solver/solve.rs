//! The solver: Caffe's Solver::Solve/Step and SGDSolver::ApplyUpdate. Per
//! iteration: clear parameter diffs; test when due; forward/backward `iter_size`
//! times; display; learning rate; clip gradients; per parameter normalise,
//! regularise, compute the update and apply it; count; snapshot when due.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::divergence;
use super::lr_policy::learning_rate;
use super::moving_average::MovingAverage;
use super::progress::{IterationReport, Progress};
use super::resume::weights_for_state;
use super::snapshot_files::snapshot_path;
use super::update::{compute_update, regularize, UpdateSettings};
use super::validate::SolverRules;
use crate::error::{Error, Result};
use crate::io::atomic::write_atomically;
use crate::io::solverstate::{read_solverstate, solverstate_bytes, SolverSnapshot};
use crate::log::info;
use crate::net::{debug_info, Net};
use crate::proto::SolverParameter;

/// Called before every forward pass of a net (feeds Input layers in tests; data
/// layers read their own sources and need nothing).
pub type Feed<'a> = dyn FnMut(&mut Net) -> Result<()> + 'a;

/// A test net and how many batches each test pass averages over.
pub struct TestNet {
    pub net: Net,
    pub iterations: usize,
}

pub struct Solver {
    pub param: SolverParameter,
    pub net: Net,
    pub test_nets: Vec<TestNet>,
    pub iter: i32,
    /// multistep's position (kept in the solverstate).
    pub current_step: i32,
    /// Caffe's history_: one blob per parameter, then (AdaDelta, Adam) a second set.
    pub history: Vec<Vec<f32>>,
    /// The parsed type, lr_policy and regularization_type of `param`.
    pub rules: SolverRules,
    losses: Vec<f32>,
    pub smoothed_loss: f32,
    start_iter: i32,
    /// The scores of the last test pass, per test net: (output name, mean value).
    pub last_test_scores: Vec<Vec<(String, f32)>>,
    /// Where snapshots go: `<prefix>_iter_<N>.caffemodel/.solverstate`.
    pub snapshot_prefix: PathBuf,
    /// Log Caffe's per-layer data and diff means each iteration (`debug_info`).
    pub debug_info: bool,
    /// The caffemodel of the last snapshot written, named when a run diverges.
    last_snapshot: Option<PathBuf>,
    /// Whether the meaning of the clamped loss was logged already (once is enough).
    clamped_loss_noted: bool,
    /// The averaged weights, when `moving_average_decay` is set.
    pub moving_average: Option<MovingAverage>,
    /// Told of every iteration and test pass (the CLI's live line, the curves file).
    pub observers: Vec<Box<dyn Progress>>,
}

/// Set by a signal handler (or a test) to stop training after the current
/// iteration; a final snapshot is still written, as Caffe does.
pub static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Set by a signal handler to write a snapshot after the current iteration and
/// go on (Caffe's SolverAction::SNAPSHOT).
pub static SNAPSHOT_REQUESTED: AtomicBool = AtomicBool::new(false);

impl Solver {
    /// A solver over an already built training net and test nets; `rules` is what
    /// [`super::validate`] returned for `param` (a solver is validated once, by
    /// whoever reads it, before its nets are built).
    pub fn new(
        param: SolverParameter,
        rules: SolverRules,
        net: Net,
        test_nets: Vec<TestNet>,
    ) -> Self {
        let histories = rules.update.histories();
        let mut history = Vec::with_capacity(net.params.len() * histories);
        for _ in 0..histories {
            history.extend(net.params.iter().map(|p| vec![0.0; p.count()]));
        }
        let snapshot_prefix = PathBuf::from(param.snapshot_prefix());
        let debug_info = param.debug_info();
        let decay = param.moving_average_decay();
        let moving_average = (decay > 0.0).then(|| MovingAverage::new(decay, &net.params));
        Solver {
            param,
            net,
            test_nets,
            iter: 0,
            current_step: 0,
            history,
            rules,
            losses: Vec::new(),
            smoothed_loss: 0.0,
            start_iter: 0,
            last_test_scores: Vec::new(),
            snapshot_prefix,
            debug_info,
            last_snapshot: None,
            clamped_loss_noted: false,
            moving_average,
            observers: Vec::new(),
        }
    }

    /// One training iteration without testing, display or snapshots; returns the
    /// loss averaged over `iter_size` passes.
    pub fn train_iteration(&mut self, feed: &mut Feed) -> Result<f32> {
        self.net.clear_param_diffs();
        let loss = self.forward_backward(feed)?;
        self.update_smoothed_loss(loss);
        self.checked_update(loss)?;
        self.iter += 1;
        Ok(loss)
    }

    /// `iter_size` forward and backward passes; returns their mean loss.
    fn forward_backward(&mut self, feed: &mut Feed) -> Result<f32> {
        let iter_size = self.param.iter_size().max(1);
        let mut loss = 0.0;
        for _ in 0..iter_size {
            feed(&mut self.net)?;
            if self.debug_info {
                loss += self.forward_backward_logged()?;
            } else {
                loss += self.net.forward()?;
                self.net.backward()?;
            }
        }
        Ok(loss / iter_size as f32)
    }

    /// One forward and backward pass, layer by layer, logging Caffe's debug_info lines.
    fn forward_backward_logged(&mut self) -> Result<f32> {
        let layers = self.net.graph.layers.len();
        for i in 0..layers {
            self.net.forward_layer(i)?;
            for line in debug_info::forward_lines(&self.net, i) {
                info("net.cpp:619", &line);
            }
        }
        let loss = self.net.loss();
        self.net.prepare_backward();
        for i in (0..layers).rev() {
            if self.net.layer_need_backward[i] {
                self.net.backward_layer(i)?;
                for line in debug_info::backward_lines(&self.net, i) {
                    info("net.cpp:632", &line);
                }
            }
        }
        Ok(loss)
    }

    /// The update between two divergence checks: the loss and gradients must be
    /// finite before it, the weights after it. Returns the learning rate used.
    fn checked_update(&mut self, loss: f32) -> Result<f32> {
        let base_lr = self.param.base_lr();
        divergence::check_gradients(
            &self.net,
            self.iter,
            loss,
            base_lr,
            self.last_snapshot.as_deref(),
        )?;
        if !self.clamped_loss_noted {
            if let Some(note) = divergence::clamped_loss_note(&self.net, loss) {
                info(
                    "solver.cpp:245",
                    &format!("Iteration {}: warning: {note}", self.iter),
                );
                self.clamped_loss_noted = true;
            }
        }
        let rate = self.apply_update();
        if self.debug_info {
            for line in debug_info::update_lines(&self.net) {
                info("net.cpp:680", &line);
            }
        }
        divergence::check_weights(
            &self.net,
            self.iter,
            loss,
            base_lr,
            self.last_snapshot.as_deref(),
        )?;
        if let Some(average) = &mut self.moving_average {
            average.update(self.iter + 1, &self.net.params);
        }
        Ok(rate)
    }

    /// Caffe's Solve: restore if asked, step to max_iter, final snapshot, display and
    /// test.
    pub fn solve(&mut self, feed: &mut Feed, test_feed: &mut Feed) -> Result<()> {
        info(
            "solver.cpp:289",
            &format!("Solving {}", self.net.graph.name),
        );
        info(
            "solver.cpp:290",
            &format!("Learning Rate Policy: {}", self.rules.lr_policy.name()),
        );
        let start_iter = self.iter;
        let remaining = self.param.max_iter() - self.iter;
        self.step(remaining, feed, test_feed)?;
        let snapshot = self.param.snapshot();
        if self.param.snapshot_after_train()
            && (snapshot == 0 || self.iter % snapshot != 0)
            && !self.snapshotted_now()
        {
            self.snapshot()?;
        }
        if STOP_REQUESTED.load(Ordering::SeqCst) {
            info("solver.cpp:310", "Optimization stopped early.");
            return Ok(());
        }
        let display = self.param.display();
        if display > 0 && self.iter % display == 0 {
            feed(&mut self.net)?;
            let loss = self.net.forward()?;
            self.start_iter = start_iter;
            self.update_smoothed_loss(loss);
            info(
                "solver.cpp:320",
                &format!("Iteration {}, loss = {}", self.iter, self.smoothed_loss),
            );
        }
        let interval = self.param.test_interval();
        if interval > 0 && self.iter % interval == 0 {
            self.test_averaged(test_feed)?;
        }
        info("solver.cpp:325", "Optimization Done.");
        Ok(())
    }

    /// Caffe's Step: `iters` iterations with testing, display and snapshots.
    pub fn step(&mut self, iters: i32, feed: &mut Feed, test_feed: &mut Feed) -> Result<()> {
        self.start_iter = self.iter;
        let stop_iter = self.iter + iters;
        self.losses.clear();
        self.smoothed_loss = 0.0;
        let mut timer = Instant::now();
        let mut iterations_last = self.iter;
        let display = self.param.display();
        let interval = self.param.test_interval();
        while self.iter < stop_iter {
            self.net.clear_param_diffs();
            if interval > 0
                && self.iter % interval == 0
                && (self.iter > 0 || self.param.test_initialization())
            {
                self.test_averaged(test_feed)?;
                if self.requested_stop()? {
                    break;
                }
            }
            let loss = self.forward_backward(feed)?;
            self.update_smoothed_loss(loss);
            if display > 0 && self.iter % display == 0 {
                let lapse = timer.elapsed().as_secs_f32();
                let per_s =
                    (self.iter - iterations_last) as f32 / if lapse > 0.0 { lapse } else { 1.0 };
                let outputs = output_values(&self.net);
                log_display(
                    self.iter,
                    per_s,
                    lapse,
                    display,
                    self.smoothed_loss,
                    outputs,
                );
                timer = Instant::now();
                iterations_last = self.iter;
            }
            let rate = self.checked_update(loss)?;
            if display > 0 && self.iter % display == 0 {
                log_rate(self.iter, rate);
            }
            let report = IterationReport {
                iter: self.iter,
                max_iter: self.param.max_iter(),
                smoothed_loss: self.smoothed_loss,
                lr: rate,
                displayed: display > 0 && self.iter % display == 0,
            };
            self.observers.iter_mut().for_each(|o| o.iteration(&report));
            self.iter += 1;
            let snapshot = self.param.snapshot();
            if snapshot > 0 && self.iter % snapshot == 0 {
                self.snapshot()?;
            }
            if self.requested_stop()? {
                break;
            }
        }
        Ok(())
    }

    /// Acts on what signals asked for (Caffe's GetRequestedAction): a requested
    /// snapshot is written now (unless this iteration's is written already);
    /// returns whether to stop.
    fn requested_stop(&mut self) -> Result<bool> {
        if SNAPSHOT_REQUESTED.swap(false, Ordering::SeqCst) && !self.snapshotted_now() {
            self.snapshot()?;
        }
        Ok(STOP_REQUESTED.load(Ordering::SeqCst))
    }

    /// Tests with the moving-average weights when they are kept, else as
    /// [`Self::test_all`].
    fn test_averaged(&mut self, feed: &mut Feed) -> Result<()> {
        let averaged = self.with_average(|solver| {
            info("solver.cpp:330", "Testing with the moving-average weights");
            solver.test_all(feed)
        });
        match averaged {
            Some(tested) => tested,
            None => self.test_all(feed),
        }
    }

    /// Runs `f` with the moving-average weights swapped into the training net
    /// (None when no average is kept).
    fn with_average<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Option<Result<T>> {
        let mut average = self.moving_average.take()?;
        average.swap(&mut self.net.params);
        let result = f(self);
        average.swap(&mut self.net.params);
        self.moving_average = Some(average);
        Some(result)
    }

    /// Whether the last snapshot written is this iteration's.
    fn snapshotted_now(&self) -> bool {
        self.last_snapshot.as_deref() == Some(&*self.snapshot_path(".caffemodel"))
    }

    /// Tests every test net with the current weights; logs and stores the scores.
    pub fn test_all(&mut self, feed: &mut Feed) -> Result<()> {
        let compute_loss = self.param.test_compute_loss();
        let all = test_and_log(
            &self.net,
            &mut self.test_nets,
            feed,
            compute_loss,
            self.iter,
        )?;
        let iter = self.iter;
        self.observers.iter_mut().for_each(|o| o.tested(iter, &all));
        self.last_test_scores = all;
        Ok(())
    }

    /// Caffe's UpdateSmoothedLoss: a running mean over the last `average_loss` losses.
    fn update_smoothed_loss(&mut self, loss: f32) {
        let window = self.param.average_loss().max(1) as usize;
        let position = (self.iter - self.start_iter) as usize;
        smooth_loss(
            &mut self.losses,
            &mut self.smoothed_loss,
            window,
            position,
            loss,
        );
    }

    /// Learning rate, gradient clipping, then each parameter's update; `data -= diff`.
    pub fn apply_update(&mut self) -> f32 {
        let rate = learning_rate(
            self.rules.lr_policy,
            &self.param,
            self.iter,
            &mut self.current_step,
        );
        self.clip_gradients();
        let settings = UpdateSettings {
            momentum: self.param.momentum(),
            momentum2: self.param.momentum2(),
            delta: self.param.delta(),
            rms_decay: self.param.rms_decay(),
        };
        let iter_size = self.param.iter_size().max(1);
        let weight_decay = self.param.weight_decay();
        let n = self.net.params.len();
        let (first, second) = self.history.split_at_mut(n);
        for p in 0..n {
            let info = &self.net.param_info[p];
            let (lr_mult, decay_mult) = (info.lr_mult, info.decay_mult);
            let mut empty = Vec::new();
            let h2 = if second.is_empty() {
                &mut empty
            } else {
                &mut second[p]
            };
            let blob = &mut self.net.params[p];
            if iter_size > 1 {
                let scale = 1.0 / iter_size as f32;
                blob.diff.iter_mut().for_each(|d| *d *= scale);
            }
            regularize(
                self.rules.regularization,
                weight_decay * decay_mult,
                &blob.data,
                &mut blob.diff,
            );
            compute_update(
                self.rules.update,
                &settings,
                rate * lr_mult,
                self.iter,
                &mut blob.diff,
                &mut first[p],
                h2,
            );
            for (w, d) in blob.data.iter_mut().zip(&blob.diff) {
                *w -= d;
            }
        }
        rate
    }

    /// Scales every gradient down when their global L2 norm exceeds clip_gradients
    /// (before dividing by iter_size, as Caffe does).
    fn clip_gradients(&mut self) {
        let clip = self.param.clip_gradients();
        if clip < 0.0 {
            return;
        }
        let sumsq: f64 = self
            .net
            .params
            .iter()
            .map(|p| p.diff.iter().map(|&d| d as f64 * d as f64).sum::<f64>())
            .sum();
        let norm = sumsq.sqrt() as f32;
        if norm > clip {
            info(
                "sgd_solver.cpp:99",
                &format!("Gradient clipping: scaling down gradients (L2 norm {norm} > {clip}) by scale factor {}", clip / norm),
            );
            let scale = clip / norm;
            for p in &mut self.net.params {
                p.diff.iter_mut().for_each(|d| *d *= scale);
            }
        }
    }

    fn snapshot_path(&self, extension: &str) -> PathBuf {
        snapshot_path(&self.snapshot_prefix, self.iter, extension)
    }

    /// Writes `<prefix>_iter_<N>.caffemodel` and `.solverstate`, each atomically.
    pub fn snapshot(&mut self) -> Result<(PathBuf, PathBuf)> {
        let model = snapshot_weights(&self.net, &self.snapshot_prefix, self.iter)?;
        let average = self.snapshot_path(".ema.caffemodel");
        if let Some(saved) = self.with_average(|solver| solver.net.save_caffemodel(&average)) {
            info(
                "solver.cpp:464",
                &format!(
                    "Snapshotting moving-average weights to {}",
                    average.display()
                ),
            );
            saved?;
        }
        let state_path = self.snapshot_path(".solverstate");
        let state = SolverState {
            iter: self.iter,
            current_step: self.current_step,
            history: &self.history,
        };
        write_solverstate(&self.net, &state_path, &model, &state)?;
        self.last_snapshot = Some(model.clone());
        Ok((model, state_path))
    }

    /// Caffe's Restore: iteration, multistep position, history, and the weights of
    /// the state's caffemodel (the one beside it first; see [`weights_for_state`]).
    pub fn restore(&mut self, state_path: &Path) -> Result<()> {
        let state = read_solverstate(state_path)?;
        let name = state_path.display().to_string();
        let max_iter = self.param.max_iter();
        if !(0..=max_iter).contains(&state.iter) {
            return Err(Error::file(
                &name,
                format!(
                    "holds iteration {}, outside this solver's 0..={max_iter} (max_iter); a state past max_iter has nothing left to train",
                    state.iter
                ),
            ));
        }
        if !(0..=self.param.stepvalue.len() as i32).contains(&state.current_step) {
            return Err(Error::file(
                &name,
                format!(
                    "holds multistep position {}, but the solver has {} stepvalues",
                    state.current_step,
                    self.param.stepvalue.len()
                ),
            ));
        }
        if state.history.len() != self.history.len() {
            return Err(Error::file(
                &name,
                format!(
                    "holds {} history blobs but this solver ({}) over this net keeps {} — was it written for another net or solver type?",
                    state.history.len(),
                    self.param.r#type(),
                    self.history.len()
                ),
            ));
        }
        for (i, ((shape, data), h)) in state.history.iter().zip(&mut self.history).enumerate() {
            if data.len() != h.len() {
                return Err(Error::file(
                    &name,
                    format!(
                        "history blob {i} has shape {shape:?} but the parameter has {} values",
                        h.len()
                    ),
                ));
            }
            h.copy_from_slice(data);
        }
        if !state.learned_net.is_empty() {
            let (model, note) = weights_for_state(state_path, &state.learned_net)?;
            info("solver.cpp:419", &note);
            self.net.load_caffemodel(&model)?;
        }
        self.restore_average(state_path)?;
        self.iter = state.iter;
        self.current_step = state.current_step;
        self.position_data_for_resume();
        Ok(())
    }

    /// The moving average of a resumed run: the `.ema.caffemodel` beside the state
    /// when there is one, else (a state written without it) the restored weights.
    fn restore_average(&mut self, state_path: &Path) -> Result<()> {
        let Some(average) = &mut self.moving_average else {
            return Ok(());
        };
        *average = MovingAverage::new(self.param.moving_average_decay(), &self.net.params);
        let name = state_path.file_name().unwrap_or_default().to_string_lossy();
        let Some(stem) = name.strip_suffix(".solverstate") else {
            return Ok(());
        };
        let path = state_path.with_file_name(format!("{stem}.ema.caffemodel"));
        if !path.is_file() {
            info(
                "solver.cpp:419",
                &format!(
                    "No {} beside the state: the moving average restarts from the restored weights",
                    path.display()
                ),
            );
            return Ok(());
        }
        info(
            "solver.cpp:419",
            &format!("Loading moving-average weights from {}", path.display()),
        );
        self.with_average(|solver| solver.net.load_caffemodel(&path).map(|_| ()))
            .unwrap_or(Ok(()))
    }

    /// Moves the data cursors to where an uninterrupted run would be at `iter`:
    /// the training net has read `iter × iter_size` batches, each test net
    /// `test_iter` batches per test pass held before `iter`.
    fn position_data_for_resume(&mut self) {
        let iter = self.iter.max(0) as u64;
        let iter_size = self.param.iter_size().max(1) as u64;
        self.net.skip_data_batches(iter * iter_size);
        let interval = self.param.test_interval().max(0) as u64;
        if interval == 0 {
            return;
        }
        let mut passes = iter.div_ceil(interval);
        if !self.param.test_initialization() && passes > 0 {
            passes -= 1;
        }
        for t in &mut self.test_nets {
            t.net.skip_data_batches(passes * t.iterations as u64);
        }
    }
}

/// Caffe's UpdateSmoothedLoss on its parts: `losses` holds the last `window`
/// losses, `position` counts iterations since the step began.
pub fn smooth_loss(
    losses: &mut Vec<f32>,
    smoothed: &mut f32,
    window: usize,
    position: usize,
    loss: f32,
) {
    if losses.len() < window {
        losses.push(loss);
        let n = losses.len() as f32;
        *smoothed = (*smoothed * (n - 1.0) + loss) / n;
    } else {
        let idx = position % window;
        *smoothed += (loss - losses[idx]) / window as f32;
        losses[idx] = loss;
    }
}

/// Caffe's display lines for one iteration: the smoothed loss with the speed,
/// then every output of the training net.
pub fn log_display(
    iter: i32,
    per_s: f32,
    lapse: f32,
    display: i32,
    smoothed_loss: f32,
    outputs: Vec<(String, f32, f32)>,
) {
    info(
        "solver.cpp:243",
        &format!(
            "Iteration {iter} ({per_s} iter/s, {lapse}s/{display} iters), loss = {smoothed_loss}"
        ),
    );
    for (k, (name, value, weight)) in outputs.into_iter().enumerate() {
        info(
            "solver.cpp:259",
            &format!(
                "    Train net output #{k}: {name} = {value}{}",
                loss_note(weight, value)
            ),
        );
    }
}

/// Caffe's line with the learning rate of a displayed iteration.
pub fn log_rate(iter: i32, rate: f32) {
    info(
        "sgd_solver.cpp:138",
        &format!("Iteration {iter}, lr = {rate}"),
    );
}

/// Writes `<prefix>_iter_<iter>.caffemodel` (atomically, creating its folder);
/// returns its path.
pub fn snapshot_weights(net: &Net, prefix: &Path, iter: i32) -> Result<PathBuf> {
    let model = snapshot_path(prefix, iter, ".caffemodel");
    if let Some(dir) = model.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io_write(dir, e))?;
    }
    info(
        "solver.cpp:464",
        &format!("Snapshotting to binary proto file {}", model.display()),
    );
    net.save_caffemodel(&model)?;
    Ok(model)
}

/// What a .solverstate keeps besides the weights' file name.
pub struct SolverState<'a> {
    pub iter: i32,
    pub current_step: i32,
    /// Caffe's history_: one per parameter, then (AdaDelta, Adam) a second set.
    pub history: &'a [Vec<f32>],
}

/// Writes the .solverstate for `model` at `state_path`, atomically; the
/// history blobs take the shapes of `net`'s parameters.
pub fn write_solverstate(
    net: &Net,
    state_path: &Path,
    model: &Path,
    state: &SolverState,
) -> Result<()> {
    info(
        "sgd_solver.cpp:284",
        &format!(
            "Snapshotting solver state to binary proto file {}",
            state_path.display()
        ),
    );
    let n = net.params.len();
    let snapshot = SolverSnapshot {
        iter: state.iter,
        learned_net: model.display().to_string(),
        history: (state.history.iter().enumerate())
            .map(|(i, h)| (net.params[i % n.max(1)].shape.clone(), h.clone()))
            .collect(),
        current_step: state.current_step,
    };
    write_atomically(state_path, &solverstate_bytes(&snapshot))
}

/// Every output value of a net: (blob name, value, loss weight), one entry per
/// element, in Caffe's output order.
pub fn output_values(net: &Net) -> Vec<(String, f32, f32)> {
    let mut out = Vec::new();
    for &b in &net.graph.outputs {
        let name = &net.graph.blobs[b].name;
        let weight = loss_weight_of(net, b);
        for &v in net.blob_data(name).unwrap_or(&[]) {
            out.push((name.clone(), v, weight));
        }
    }
    out
}

fn loss_weight_of(net: &Net, blob: usize) -> f32 {
    for node in &net.graph.layers {
        for (t, &s) in node.top_slots.iter().enumerate() {
            if net.graph.slots[s].blob == blob && node.loss_weights[t] != 0.0 {
                return node.loss_weights[t];
            }
        }
    }
    0.0
}

fn loss_note(weight: f32, value: f32) -> String {
    if weight != 0.0 {
        format!(" (* {weight} = {} loss)", weight * value)
    } else {
        String::new()
    }
}

/// Copies the training net's weights into a test net, by layer name (Caffe's
/// ShareTrainedLayersWith).
pub fn share_weights(from: &Net, to: &mut Net) {
    for (li, node) in to.graph.layers.iter().enumerate() {
        let Some(src) = from
            .graph
            .layers
            .iter()
            .position(|l| l.name() == node.name())
        else {
            continue;
        };
        for (k, &p) in to.layer_params[li].iter().enumerate() {
            if let Some(&q) = from.layer_params[src].get(k) {
                if from.params[q].count() == to.params[p].count() {
                    to.params[p].data.copy_from_slice(&from.params[q].data);
                }
            }
        }
    }
}

/// Tests every test net with `train`'s weights at iteration `iter`, logging
/// Caffe's lines; returns the scores per test net: (output name, mean value).
pub fn test_and_log(
    train: &Net,
    test_nets: &mut [TestNet],
    feed: &mut Feed,
    compute_loss: bool,
    iter: i32,
) -> Result<Vec<Vec<(String, f32)>>> {
    let mut all = Vec::with_capacity(test_nets.len());
    for (id, t) in test_nets.iter_mut().enumerate() {
        info(
            "solver.cpp:330",
            &format!("Iteration {iter}, Testing net (#{id})"),
        );
        share_weights(train, &mut t.net);
        let scores = test_net(t, feed, compute_loss)?;
        for (i, (name, mean, weight)) in scores.iter().enumerate() {
            info(
                "solver.cpp:414",
                &format!(
                    "    Test net output #{i}: {name} = {mean}{}",
                    loss_note(*weight, *mean)
                ),
            );
        }
        all.push(scores.into_iter().map(|(n, m, _)| (n, m)).collect());
    }
    Ok(all)
}

/// Runs a test net `iterations` times; returns each output element's mean with its
/// loss weight (Caffe's Solver::Test).
pub fn test_net(
    t: &mut TestNet,
    feed: &mut Feed,
    compute_loss: bool,
) -> Result<Vec<(String, f32, f32)>> {
    let mut scores: Vec<(String, f32, f32)> = Vec::new();
    let mut loss = 0.0;
    for i in 0..t.iterations {
        feed(&mut t.net)?;
        let l = t.net.forward()?;
        if compute_loss {
            loss += l;
        }
        let values = output_values(&t.net);
        if i == 0 {
            scores = values;
        } else {
            for (s, v) in scores.iter_mut().zip(values) {
                s.1 += v.1;
            }
        }
    }
    let n = t.iterations.max(1) as f32;
    if compute_loss {
        info("solver.cpp:398", &format!("Test loss: {}", loss / n));
    }
    for s in &mut scores {
        s.1 /= n;
    }
    Ok(scores)
}
