//! The solver: Caffe's Solver::Step and SGDSolver::ApplyUpdate — per iteration:
//! clear parameter diffs, forward/backward `iter_size` times, learning rate, clip
//! gradients, then per parameter normalise, regularise, compute the update, apply.

use super::lr_policy::learning_rate;
use super::update::{compute_update, regularize, Rule, UpdateSettings};
use crate::error::{Error, Result};
use crate::net::Net;
use crate::proto::SolverParameter;

/// Called before every forward pass of the training net (feeds Input layers in
/// tests; data layers read their own sources).
pub type Feed<'a> = dyn FnMut(&mut Net) -> Result<()> + 'a;

pub struct Solver {
    pub param: SolverParameter,
    pub net: Net,
    pub iter: i32,
    /// multistep's position (kept in the solverstate).
    pub current_step: i32,
    /// Caffe's history_: one blob per parameter, then (AdaDelta, Adam) a second set.
    pub history: Vec<Vec<f32>>,
    pub rule: Rule,
    /// Recent losses for the smoothed display loss (average_loss).
    pub losses: Vec<f32>,
    pub smoothed_loss: f32,
}

impl Solver {
    /// A solver over an already built training net.
    pub fn new(param: SolverParameter, net: Net) -> Result<Self> {
        super::validate(&param).map_err(Error::Usage)?;
        let rule = Rule::from_type(param.r#type()).expect("validated solver type");
        let mut history = Vec::with_capacity(net.params.len() * rule.histories());
        for _ in 0..rule.histories() {
            history.extend(net.params.iter().map(|p| vec![0.0; p.count()]));
        }
        Ok(Solver {
            param,
            net,
            iter: 0,
            current_step: 0,
            history,
            rule,
            losses: Vec::new(),
            smoothed_loss: 0.0,
        })
    }

    /// One training iteration (without testing, display or snapshots); returns the
    /// loss averaged over `iter_size` passes.
    pub fn train_iteration(&mut self, feed: &mut Feed) -> Result<f32> {
        self.net.clear_param_diffs();
        let iter_size = self.param.iter_size().max(1);
        let mut loss = 0.0;
        for _ in 0..iter_size {
            feed(&mut self.net)?;
            loss += self.net.forward()?;
            self.net.backward()?;
        }
        loss /= iter_size as f32;
        self.update_smoothed_loss(loss);
        self.apply_update();
        self.iter += 1;
        Ok(loss)
    }

    /// Caffe's UpdateSmoothedLoss: a running mean over the last `average_loss` losses.
    fn update_smoothed_loss(&mut self, loss: f32) {
        let window = self.param.average_loss().max(1) as usize;
        if self.losses.len() < window {
            self.losses.push(loss);
            let n = self.losses.len() as f32;
            self.smoothed_loss = (self.smoothed_loss * (n - 1.0) + loss) / n;
        } else {
            let idx = (self.iter as usize) % window;
            self.smoothed_loss += (loss - self.losses[idx]) / window as f32;
            self.losses[idx] = loss;
        }
    }

    /// The learning rate for the current iteration (advances multistep's state).
    pub fn current_rate(&mut self) -> f32 {
        learning_rate(&self.param, self.iter, &mut self.current_step)
    }

    /// Learning rate, gradient clipping, then each parameter's update; `data -= diff`.
    pub fn apply_update(&mut self) -> f32 {
        let rate = self.current_rate();
        self.clip_gradients();
        let settings = UpdateSettings {
            momentum: self.param.momentum(),
            momentum2: self.param.momentum2(),
            delta: self.param.delta(),
            rms_decay: self.param.rms_decay(),
        };
        let iter_size = self.param.iter_size().max(1);
        let weight_decay = self.param.weight_decay();
        let l1 = self.param.regularization_type() == "L1";
        let n = self.net.params.len();
        for p in 0..n {
            let info = self.net.param_info[p].clone();
            let (first, second) = self.history.split_at_mut(n);
            let h1 = &mut first[p];
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
                l1,
                weight_decay * info.decay_mult,
                &blob.data,
                &mut blob.diff,
            );
            compute_update(
                self.rule,
                &settings,
                rate * info.lr_mult,
                self.iter,
                &mut blob.diff,
                h1,
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
            let scale = clip / norm;
            for p in &mut self.net.params {
                p.diff.iter_mut().for_each(|d| *d *= scale);
            }
        }
    }
}
