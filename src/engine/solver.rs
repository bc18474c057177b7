//! The SGD family's updates on device tensors, for a [`CandleNet`]: the native
//! solver's order (clip by the global L2 norm, divide by iter_size, regularize,
//! the rule with its history, `w -= step`), the learning rate from the native
//! `LrPolicy` math, and the rules of `solver::update` written as tensor ops.

use candle_core::{Tensor, Var};

use super::CandleNet;
use crate::error::{Error, Result};
use crate::log::info;
use crate::proto::SolverParameter;
use crate::solver::lr_policy::learning_rate;
use crate::solver::update::{Regularization, Rule};
use crate::solver::SolverRules;

pub struct CandleSolver {
    pub param: SolverParameter,
    pub rules: SolverRules,
    pub net: CandleNet,
    /// Per parameter: the rule's history (and AdaDelta's / Adam's second).
    history: Vec<Tensor>,
    second: Vec<Tensor>,
    pub iter: i32,
    current_step: i32,
}

fn plain(e: candle_core::Error) -> Error {
    Error::Usage(format!("candle engine: {e}"))
}

impl CandleSolver {
    pub fn new(param: SolverParameter, rules: SolverRules, net: CandleNet) -> Result<Self> {
        let zeros = |net: &CandleNet| -> Result<Vec<Tensor>> {
            (0..net.net.params.len())
                .map(|p| net.param_var(p).as_tensor().zeros_like().map_err(plain))
                .collect()
        };
        let history = zeros(&net)?;
        let second = if rules.update.histories() > 1 {
            zeros(&net)?
        } else {
            Vec::new()
        };
        Ok(CandleSolver {
            param,
            rules,
            net,
            history,
            second,
            iter: 0,
            current_step: 0,
        })
    }

    /// One iteration: `iter_size` passes (each after `feed`), then the update;
    /// returns the mean loss.
    pub fn train_iteration(
        &mut self,
        feed: &mut dyn FnMut(&mut CandleNet) -> Result<()>,
    ) -> Result<f32> {
        let loss = self.forward_backward(feed)?;
        self.apply_update().map_err(plain)?;
        self.iter += 1;
        Ok(loss)
    }

    /// Clears the gradients, then `iter_size` forward and backward passes (each
    /// after `feed`); returns their mean loss.
    pub fn forward_backward(
        &mut self,
        feed: &mut dyn FnMut(&mut CandleNet) -> Result<()>,
    ) -> Result<f32> {
        self.net.clear_param_diffs();
        let iter_size = self.param.iter_size().max(1);
        let mut loss = 0.0;
        for _ in 0..iter_size {
            feed(&mut self.net)?;
            loss += self.net.forward()?;
            self.net.backward()?;
        }
        Ok(loss / iter_size as f32)
    }

    /// multistep's position (kept in the solverstate).
    pub fn current_step(&self) -> i32 {
        self.current_step
    }

    /// The rule's history on the host in the native solver's layout (one per
    /// parameter, then the second set), for a .solverstate.
    pub fn history_to_host(&self) -> Result<Vec<Vec<f32>>> {
        (self.history.iter().chain(&self.second))
            .map(|h| h.flatten_all()?.to_vec1::<f32>())
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(plain)
    }

    /// The gradient of parameter `p`, zeros when nothing reached it.
    fn gradient(&self, p: usize) -> candle_core::Result<Tensor> {
        match self.net.param_diff_tensor(p) {
            Some(g) => Ok(g.clone()),
            None => self.net.param_var(p).as_tensor().zeros_like(),
        }
    }

    /// Learning rate, clipping, then every parameter's step; returns the rate.
    pub fn apply_update(&mut self) -> candle_core::Result<f32> {
        let rate = learning_rate(
            self.rules.lr_policy,
            &self.param,
            self.iter,
            &mut self.current_step,
        );
        let n = self.net.net.params.len();
        let mut grads = (0..n)
            .map(|p| self.gradient(p))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let clip = self.param.clip_gradients();
        if clip >= 0.0 {
            let mut sumsq = 0f64;
            for g in &grads {
                sumsq += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(candle_core::DType::F64)?
                    .to_scalar::<f64>()?;
            }
            let norm = sumsq.sqrt() as f32;
            if norm > clip {
                info(
                    "sgd_solver.cpp:99",
                    &format!("Gradient clipping: scaling down gradients (L2 norm {norm} > {clip}) by scale factor {}", clip / norm),
                );
                for g in &mut grads {
                    *g = g.affine((clip / norm) as f64, 0.0)?;
                }
            }
        }
        let iter_size = self.param.iter_size().max(1);
        for (p, mut g) in grads.into_iter().enumerate() {
            let info = self.net.net.param_info[p].clone();
            let var: Var = self.net.param_var(p).clone();
            let w = var.as_tensor().detach();
            if iter_size > 1 {
                g = g.affine(1.0 / iter_size as f64, 0.0)?;
            }
            let decay = (self.param.weight_decay() * info.decay_mult) as f64;
            if decay != 0.0 {
                let term = match self.rules.regularization {
                    Regularization::L2 => w.affine(decay, 0.0)?,
                    Regularization::L1 => w.sign()?.affine(decay, 0.0)?,
                };
                g = g.add(&term)?;
            }
            let step = self.step(p, g, (rate * info.lr_mult) as f64)?;
            var.set(&w.sub(&step)?)?;
        }
        Ok(rate)
    }

    /// One rule on one parameter (`solver::update::compute_update` on tensors).
    fn step(&mut self, p: usize, d: Tensor, rate: f64) -> candle_core::Result<Tensor> {
        let momentum = self.param.momentum() as f64;
        let delta = self.param.delta() as f64;
        let h = &self.history[p];
        let step = match self.rules.update {
            Rule::Sgd => {
                let next = (h.affine(momentum, 0.0)? + d.affine(rate, 0.0)?)?;
                self.history[p] = next.clone();
                next
            }
            Rule::Nesterov => {
                let next = (h.affine(momentum, 0.0)? + d.affine(rate, 0.0)?)?;
                let step = (next.affine(1.0 + momentum, 0.0)? - h.affine(momentum, 0.0)?)?;
                self.history[p] = next;
                step
            }
            Rule::AdaGrad => {
                let next = (h + d.sqr()?)?;
                let step = d.div(&(next.sqrt()? + delta)?)?.affine(rate, 0.0)?;
                self.history[p] = next;
                step
            }
            Rule::RmsProp => {
                let decay = self.param.rms_decay() as f64;
                let next = (h.affine(decay, 0.0)? + d.sqr()?.affine(1.0 - decay, 0.0)?)?;
                let step = d.div(&(next.sqrt()? + delta)?)?.affine(rate, 0.0)?;
                self.history[p] = next;
                step
            }
            Rule::AdaDelta => {
                let hg = (h.affine(momentum, 0.0)? + d.sqr()?.affine(1.0 - momentum, 0.0)?)?;
                let hu = &self.second[p];
                let scale = ((hu + delta)?.div(&(&hg + delta)?)?).sqrt()?;
                let scaled = d.mul(&scale)?;
                let next_u =
                    (hu.affine(momentum, 0.0)? + scaled.sqr()?.affine(1.0 - momentum, 0.0)?)?;
                self.history[p] = hg;
                self.second[p] = next_u;
                scaled.affine(rate, 0.0)?
            }
            Rule::Adam => {
                let t = self.iter + 1;
                let (b1, b2) = (momentum, self.param.momentum2() as f64);
                let correction = ((1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t))) as f32 as f64;
                let m = (d.affine(1.0 - b1, 0.0)? + h.affine(b1, 0.0)?)?;
                let v = (d.sqr()?.affine(1.0 - b2, 0.0)? + self.second[p].affine(b2, 0.0)?)?;
                let step = m
                    .div(&(v.sqrt()? + delta)?)?
                    .affine(rate * correction, 0.0)?;
                self.history[p] = m;
                self.second[p] = v;
                step
            }
        };
        Ok(step)
    }
}
