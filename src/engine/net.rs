//! A net on candle tensors: the native [`Net`]'s graph and parameters, run
//! through the candle ops on one device. Parameters are uploaded once as
//! [`Var`]s (a shared parameter is one Var); data layers run on the host and
//! their tops are uploaded (the only host→device copy of a pass); backward is
//! candle's autograd from Σ loss_weight · Σ top (plus any injected top
//! gradients), honouring Caffe's need-backward analysis: bottoms without
//! `propagate_down` and parameters with lr_mult 0 enter detached.

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

use super::ops::{Op, OpContext};
use super::registry;
use crate::error::{Error, Result};
use crate::net::Net;

/// How a layer runs on the candle engine.
#[derive(Clone, Copy)]
enum Runner {
    /// On the host (data sources); its tops are uploaded.
    Host,
    Device(Op),
}

pub struct CandleNet {
    /// The native net: graph, need-backward analysis, data layers, and the host
    /// copy of the weights (see [`CandleNet::write_params_to_host`]).
    pub net: Net,
    device: Device,
    runners: Vec<Runner>,
    /// One per unique parameter blob of `net`.
    vars: Vec<Var>,
    /// One tensor per slot (blob version) after forward.
    slots: Vec<Option<Tensor>>,
    /// Per layer: what its op derived once (window indexes).
    constants: Vec<Vec<Tensor>>,
    /// Gradients injected at tops for the next backward, by slot.
    top_diffs: Vec<(usize, Tensor)>,
    grads: Option<GradStore>,
    /// Parameter gradients summed over backward passes since the last clear.
    param_diffs: Vec<Option<Tensor>>,
    /// Per slot, when blob gradients are recorded: a zero `Var` added to the
    /// layer's top. candle's GradStore keeps gradients of variables only, so the
    /// gradient of this Var is the blob's.
    taps: Vec<Option<Var>>,
    record_blob_diffs: bool,
    /// Input-layer tops given as device tensors for the next forward
    /// ([`CandleNet::forward_tensor`]), by slot: they replace the host upload.
    given: Vec<(usize, Tensor)>,
}

fn candle_error(net: &Net, i: usize, e: candle_core::Error) -> Error {
    let l = &net.graph.layers[i];
    Error::Layer {
        layer: l.name().to_string(),
        layer_type: l.type_name().to_string(),
        location: l.location.clone(),
        message: format!("candle engine: {e}"),
    }
}

/// A candle error that belongs to no one layer.
fn plain(e: candle_core::Error) -> Error {
    Error::Usage(format!("candle engine: {e}"))
}

impl CandleNet {
    /// Takes a built native net and uploads its parameters to `device`. Refuses a
    /// net with a layer type the candle engine cannot run, naming it.
    pub fn from_net(net: Net, device: &Device) -> Result<Self> {
        let mut runners = Vec::with_capacity(net.graph.layers.len());
        for node in &net.graph.layers {
            let t = node.type_name();
            runners.push(match registry::op(t) {
                Some(op) => Runner::Device(op),
                None if registry::runs_on_host(t) => Runner::Host,
                None => return Err(Error::Layer {
                    layer: node.name().to_string(),
                    layer_type: t.to_string(),
                    location: node.location.clone(),
                    message:
                        "the candle engine has no path for this layer type yet; use --engine native"
                            .into(),
                }),
            });
        }
        let vars = net
            .params
            .iter()
            .map(|p| Var::from_slice(&p.data, p.shape.as_slice(), device))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(plain)?;
        let n = net.graph.layers.len();
        Ok(CandleNet {
            slots: vec![None; net.graph.slots.len()],
            param_diffs: vec![None; vars.len()],
            taps: vec![None; net.graph.slots.len()],
            record_blob_diffs: false,
            constants: vec![Vec::new(); n],
            runners,
            vars,
            device: device.clone(),
            top_diffs: Vec::new(),
            grads: None,
            given: Vec::new(),
            net,
        })
    }

    /// Whether backward keeps every blob's gradient for [`CandleNet::blob_diff`]
    /// (costs one zero tensor and one addition per top per pass; off by default,
    /// as training needs only parameter gradients).
    pub fn record_blob_diffs(&mut self, on: bool) {
        self.record_blob_diffs = on;
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Sets an input blob's data (an Input layer's top), uploaded by the next forward.
    pub fn set_input(&mut self, name: &str, data: &[f32]) -> Result<()> {
        self.net.set_input(name, data)
    }

    /// Replaces parameter `p`'s values (weights loaded after the net was made).
    pub fn set_param(&mut self, p: usize, data: &[f32]) -> Result<()> {
        let shape = self.net.params[p].shape.clone();
        let t = Tensor::from_slice(data, shape.as_slice(), &self.device).map_err(plain)?;
        self.vars[p].set(&t).map_err(plain)
    }

    /// Runs every layer forward and returns the weighted loss.
    pub fn forward(&mut self) -> Result<f32> {
        self.grads = None;
        for i in 0..self.net.graph.layers.len() {
            self.forward_layer(i)?;
        }
        self.loss()
    }

    /// The given tensors for every one of these tops, if all were given.
    fn given_tops(&self, top_slots: &[usize]) -> Option<Vec<Tensor>> {
        top_slots
            .iter()
            .map(|s| {
                self.given
                    .iter()
                    .find(|(g, _)| g == s)
                    .map(|(_, t)| t.clone())
            })
            .collect()
    }

    /// The library's forward for a deploy net: `input` (any float dtype, on any
    /// device; moved to this net's device) fills the net's one Input top, and the
    /// net's first output comes back as a tensor on the device — no host copy.
    /// The input's shape must be the Input's (reshape the net to change it).
    pub fn forward_tensor(&mut self, input: &Tensor) -> Result<Tensor> {
        let inputs = self.net.input_layer_tops();
        let [name] = inputs.as_slice() else {
            return Err(Error::Usage(format!(
                "forward_tensor needs a net with exactly one Input top; this one has [{}]",
                inputs.join(", ")
            )));
        };
        let slot = self.net.data_slot(name).expect("an Input top has a slot");
        let want = &self.net.slots[slot].shape;
        if input.dims() != want.as_slice() {
            return Err(Error::Usage(format!(
                "the input tensor has shape {:?}, but Input `{name}` is {want:?}",
                input.dims()
            )));
        }
        let t = input
            .to_device(&self.device)
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .map_err(plain)?;
        self.given = vec![(slot, t)];
        let ran = self.forward();
        self.given.clear();
        ran?;
        let &out = self
            .net
            .graph
            .outputs
            .first()
            .ok_or_else(|| Error::Usage("the net has no output blob".into()))?;
        let name = &self.net.graph.blobs[out].name;
        self.net
            .data_slot(name)
            .and_then(|s| self.slots[s].clone())
            .ok_or_else(|| Error::Usage(format!("output `{name}` was not computed")))
    }

    fn upload(&self, slot: usize) -> candle_core::Result<Tensor> {
        let blob = &self.net.slots[slot];
        let t = Tensor::from_slice(&blob.data, blob.shape.as_slice(), &self.device)?;
        // A variable, so that gradients with respect to inputs can be read back.
        Ok(Var::from_tensor(&t)?.as_tensor().clone())
    }

    fn forward_layer(&mut self, i: usize) -> Result<()> {
        let runner = self.runners[i];
        let top_slots = self.net.graph.layers[i].top_slots.clone();
        if self.net.layer_is_empty[i] {
            for &s in &top_slots {
                let shape = self.net.slots[s].shape.clone();
                let zeros = Tensor::zeros(shape.as_slice(), candle_core::DType::F32, &self.device);
                self.slots[s] = Some(zeros.map_err(|e| candle_error(&self.net, i, e))?);
            }
            return Ok(());
        }
        let op = match runner {
            Runner::Host => {
                if let Some(given) = self.given_tops(&top_slots) {
                    for (s, t) in top_slots.iter().zip(given) {
                        self.slots[*s] = Some(t);
                    }
                    return Ok(());
                }
                self.net.forward_layer(i)?;
                for &s in &top_slots {
                    let t = self.upload(s).map_err(|e| candle_error(&self.net, i, e))?;
                    self.slots[s] = Some(t);
                }
                return Ok(());
            }
            Runner::Device(op) => op,
        };
        let node = &self.net.graph.layers[i];
        let needs = self.net.layer_need_backward[i];
        let bottoms: Vec<Tensor> = node
            .bottom_slots
            .iter()
            .enumerate()
            .map(|(j, &s)| {
                let t = self.slots[s].clone().expect("bottoms are produced earlier");
                if needs && self.net.bottom_need_backward[i][j] {
                    t
                } else {
                    t.detach()
                }
            })
            .collect();
        let params: Vec<Tensor> = self.net.layer_params[i]
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                let t = self.vars[p].as_tensor().clone();
                if needs && self.net.param_need_backward[i][k] {
                    t
                } else {
                    t.detach()
                }
            })
            .collect();
        let top_shapes: Vec<Vec<usize>> = top_slots
            .iter()
            .map(|&s| self.net.slots[s].shape.clone())
            .collect();
        let mut ctx = OpContext {
            phase: self.net.phase(),
            device: &self.device,
            top_shapes: &top_shapes,
            rng: &mut self.net.rng,
            param_updates: Vec::new(),
            constants: &mut self.constants[i],
        };
        let result = op(&node.param, &bottoms, &params, &mut ctx);
        let updates = std::mem::take(&mut ctx.param_updates);
        let tops = result.map_err(|e| candle_error(&self.net, i, e))?;
        if tops.len() != top_slots.len() {
            let e = candle_core::Error::Msg(format!(
                "made {} tops for {} top blobs",
                tops.len(),
                top_slots.len()
            ));
            return Err(candle_error(&self.net, i, e));
        }
        for ((&s, t), shape) in top_slots.iter().zip(tops).zip(&top_shapes) {
            if t.dims() != shape.as_slice() {
                let e = candle_core::Error::Msg(format!(
                    "made a top of shape {:?} where the net has {shape:?}",
                    t.dims()
                ));
                return Err(candle_error(&self.net, i, e));
            }
            let t = if self.record_blob_diffs {
                let tap = Var::zeros(shape.as_slice(), t.dtype(), &self.device)
                    .map_err(|e| candle_error(&self.net, i, e))?;
                let tapped = t
                    .add(tap.as_tensor())
                    .map_err(|e| candle_error(&self.net, i, e))?;
                self.taps[s] = Some(tap);
                tapped
            } else {
                t
            };
            self.slots[s] = Some(t);
        }
        for (k, value) in updates {
            let p = self.net.layer_params[i][k];
            self.vars[p]
                .set(&value)
                .map_err(|e| candle_error(&self.net, i, e))?;
        }
        Ok(())
    }

    /// Σ loss_weight · Σ top over weighted tops, on the device.
    fn objective(&self) -> candle_core::Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        let mut add = |t: Tensor| -> candle_core::Result<()> {
            total = Some(match total.take() {
                None => t,
                Some(sum) => sum.add(&t)?,
            });
            Ok(())
        };
        for node in &self.net.graph.layers {
            for (&s, &w) in node.top_slots.iter().zip(&node.loss_weights) {
                if w != 0.0 {
                    if let Some(t) = &self.slots[s] {
                        add(t.sum_all()?.affine(w as f64, 0.0)?)?;
                    }
                }
            }
        }
        for (s, diff) in &self.top_diffs {
            if let Some(t) = &self.slots[*s] {
                add(t.mul(diff)?.sum_all()?)?;
            }
        }
        Ok(total)
    }

    /// The weighted loss of the last forward (one scalar copied to the host).
    pub fn loss(&self) -> Result<f32> {
        let mut loss = 0.0;
        for node in &self.net.graph.layers {
            for (&s, &w) in node.top_slots.iter().zip(&node.loss_weights) {
                if let (true, Some(t)) = (w != 0.0, &self.slots[s]) {
                    let sum = t.sum_all().and_then(|t| t.to_scalar::<f32>());
                    loss += w * sum.map_err(plain)?;
                }
            }
        }
        Ok(loss)
    }

    /// Injects `diff` as the gradient of blob `name`'s data for the next backward
    /// (as a fixture's `topdiff`); loss tops are seeded with their weights anyway.
    pub fn set_top_diff(&mut self, name: &str, diff: &[f32]) -> Result<()> {
        let s = self
            .net
            .data_slot(name)
            .ok_or_else(|| Error::Usage(format!("the net has no blob named `{name}`")))?;
        let shape = self.net.slots[s].shape.clone();
        let t = Tensor::from_slice(diff, shape.as_slice(), &self.device).map_err(plain)?;
        self.top_diffs.retain(|(x, _)| *x != s);
        self.top_diffs.push((s, t));
        Ok(())
    }

    /// Differentiates the objective; parameter gradients are added to the sums
    /// kept since [`CandleNet::clear_param_diffs`] (Caffe's accumulation).
    pub fn backward(&mut self) -> Result<()> {
        let Some(objective) = self.objective().map_err(plain)? else {
            self.grads = None;
            return Ok(());
        };
        let grads = objective.backward().map_err(plain)?;
        for (p, var) in self.vars.iter().enumerate() {
            if let Some(g) = grads.get(var.as_tensor()) {
                self.param_diffs[p] = Some(match self.param_diffs[p].take() {
                    None => g.clone(),
                    Some(sum) => sum.add(g).map_err(plain)?,
                });
            }
        }
        self.grads = Some(grads);
        Ok(())
    }

    pub fn clear_param_diffs(&mut self) {
        self.param_diffs.iter_mut().for_each(|d| *d = None);
    }

    /// The gradient of parameter `p` on the device (None: zero).
    pub fn param_diff_tensor(&self, p: usize) -> Option<&Tensor> {
        self.param_diffs[p].as_ref()
    }

    /// Parameter `p`'s variable on the device.
    pub fn param_var(&self, p: usize) -> &Var {
        &self.vars[p]
    }

    fn host(t: &Tensor) -> Result<Vec<f32>> {
        t.flatten_all().and_then(|t| t.to_vec1()).map_err(plain)
    }

    /// A blob's data after forward, copied to the host (tests and the CLI).
    pub fn blob_data(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self
            .net
            .data_slot(name)
            .and_then(|s| self.slots[s].as_ref())
        {
            Some(t) => Self::host(t).map(Some),
            None => Ok(None),
        }
    }

    /// A blob's gradient after backward (zero where nothing reached it), on the host.
    pub fn blob_diff(&self, name: &str) -> Result<Option<Vec<f32>>> {
        let Some(s) = self.net.diff_slot(name) else {
            return Ok(None);
        };
        // Tops the host uploaded are variables themselves; ops' tops have taps.
        let watched = match &self.taps[s] {
            Some(tap) => Some(tap.as_tensor()),
            None => self.slots[s].as_ref(),
        };
        let grad = match (&self.grads, watched) {
            (Some(g), Some(t)) => g.get(t),
            _ => None,
        };
        match grad {
            Some(g) => Self::host(g).map(Some),
            None => Ok(Some(vec![0.0; self.net.slots[s].count()])),
        }
    }

    /// Parameter `p`'s values on the host.
    pub fn param_data(&self, p: usize) -> Result<Vec<f32>> {
        Self::host(self.vars[p].as_tensor())
    }

    /// Parameter `p`'s accumulated gradient on the host (zeros when none).
    pub fn param_diff(&self, p: usize) -> Result<Vec<f32>> {
        match &self.param_diffs[p] {
            Some(g) => Self::host(g),
            None => Ok(vec![0.0; self.net.params[p].count()]),
        }
    }

    /// Copies the net's output blobs (losses, accuracies) into the native net's
    /// blobs, for the log lines the solver and `test` write.
    pub fn outputs_to_host(&mut self) -> Result<()> {
        for &b in &self.net.graph.outputs {
            let name = self.net.graph.blobs[b].name.clone();
            if let (Some(s), Some(data)) = (self.net.data_slot(&name), self.blob_data(&name)?) {
                self.net.slots[s].data.copy_from_slice(&data);
            }
        }
        Ok(())
    }

    /// Copies every parameter's current values into the native net's blobs (for
    /// snapshots, weight sharing with a test net, or the native engine).
    pub fn write_params_to_host(&mut self) -> Result<()> {
        for p in 0..self.vars.len() {
            let data = self.param_data(p)?;
            self.net.params[p].data.copy_from_slice(&data);
        }
        Ok(())
    }
}
