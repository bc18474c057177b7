//! Running a built graph: Caffe's Net — parameter blobs (with sharing), which
//! layers and bottoms need backward, forward and backward passes, loss seeding.

use std::collections::{HashMap, HashSet};

use super::graph::NetGraph;
use crate::blob::Blob;
use crate::error::{Error, Result};
use crate::layers::RunContext;
use crate::proto::Phase;
use crate::rng::Rng;

/// Where a layer's parameter blob lives and how the solver treats it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// The layer that owns the blob (the first to declare a shared name).
    pub owner: usize,
    pub owner_index: usize,
    pub lr_mult: f32,
    pub decay_mult: f32,
}

/// A net ready to run.
pub struct Net {
    pub graph: NetGraph,
    /// One blob per slot (blob version); see [`super::graph::Slot`].
    pub slots: Vec<Blob>,
    /// Unique parameter blobs; layers refer to them through `layer_params`.
    pub params: Vec<Blob>,
    pub param_info: Vec<ParamInfo>,
    pub layer_params: Vec<Vec<usize>>,
    pub layer_need_backward: Vec<bool>,
    pub bottom_need_backward: Vec<Vec<bool>>,
    /// Caffe's param_propagate_down, per layer and parameter: false when the
    /// layer's lr_mult for it is 0, so backward skips that gradient.
    pub param_need_backward: Vec<Vec<bool>>,
    /// Per layer: it reads and writes only empty blobs (a batch of 0, as Caffe's
    /// empty blobs allow), so neither pass calls it — the kernels assume at least
    /// one element per row. Blob shapes are fixed when the net is built.
    pub layer_is_empty: Vec<bool>,
    pub rng: Rng,
}

fn layer_error(graph: &NetGraph, i: usize, message: String) -> Error {
    let l = &graph.layers[i];
    Error::Layer {
        layer: l.name().to_string(),
        layer_type: l.type_name().to_string(),
        location: l.location.clone(),
        message,
    }
}

impl Net {
    /// Positions every data layer as if `batches` batches had been read already.
    pub fn skip_data_batches(&mut self, batches: u64) {
        for node in &mut self.graph.layers {
            node.layer.skip_batches(batches);
        }
    }

    /// Allocates blobs, creates (and shares) parameters, filled from each layer's
    /// inline blobs or else its fillers with `seed`, and works out which gradients backward must compute.
    /// Refuses a net without layers, and one over the memory budget (see
    /// [`super::budget`]) before allocating.
    pub fn new(graph: NetGraph, force_backward: bool, seed: u64) -> Result<Self> {
        if graph.layers.is_empty() {
            return Err(Error::Net {
                net: graph.name.clone(),
                message: format!(
                    "has no layers in phase {} (level {}, stages {:?}); there is nothing to run",
                    graph.state.phase(),
                    graph.state.level(),
                    graph.state.stage
                ),
            });
        }
        if let Some((budget, source)) = super::budget::current_budget() {
            super::budget::check_budget(&graph, budget, source)?;
        }
        let mut rng = Rng::new(seed);
        let slots: Vec<Blob> = graph
            .slots
            .iter()
            .map(|s| Blob::new(&graph.blobs[s.blob].shape))
            .collect();

        // Parameters, shared by ParamSpec name (Caffe's AppendParam).
        let mut params: Vec<Blob> = Vec::new();
        let mut param_info: Vec<ParamInfo> = Vec::new();
        let mut layer_params: Vec<Vec<usize>> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (li, node) in graph.layers.iter().enumerate() {
            let mut own: Vec<Blob> = node.param_shapes.iter().map(|s| Blob::new(s)).collect();
            if node.inline_blobs.is_empty() {
                node.layer.fill_params(&mut own, &mut rng);
            } else {
                // Caffe skips the fillers of a layer whose blobs are given.
                for (blob, given) in own.iter_mut().zip(&node.inline_blobs) {
                    blob.data.copy_from_slice(&given.data);
                }
            }
            let mut ids = Vec::with_capacity(own.len());
            for (pi, blob) in own.into_iter().enumerate() {
                let spec = node.param.param.get(pi).cloned().unwrap_or_default();
                let name = spec.name().to_string();
                if !name.is_empty() {
                    if let Some(&id) = by_name.get(&name) {
                        let owner = &params[id];
                        let strict = spec.share_mode() == crate::proto::DimCheckMode::Strict;
                        let fits = if strict {
                            owner.shape == blob.shape
                        } else {
                            owner.count() == blob.count()
                        };
                        if !fits {
                            return Err(layer_error(
                                &graph,
                                li,
                                format!(
                                    "shares parameter `{name}` of shape {:?}, but its own parameter {pi} has shape {:?}",
                                    owner.shape, blob.shape
                                ),
                            ));
                        }
                        if param_info[id].lr_mult != spec.lr_mult() {
                            return Err(layer_error(
                                &graph,
                                li,
                                format!("shares parameter `{name}` but sets a different lr_mult"),
                            ));
                        }
                        ids.push(id);
                        continue;
                    }
                    by_name.insert(name, params.len());
                }
                ids.push(params.len());
                param_info.push(ParamInfo {
                    owner: li,
                    owner_index: pi,
                    lr_mult: spec.lr_mult(),
                    decay_mult: spec.decay_mult(),
                });
                params.push(blob);
            }
            layer_params.push(ids);
        }

        let (layer_need_backward, bottom_need_backward, param_need_backward) =
            need_backward(&graph, &param_info, &layer_params, force_backward)?;
        let empty = |&s: &usize| slots[s].count() == 0;
        let layer_is_empty = graph
            .layers
            .iter()
            .map(|node| {
                !node.bottom_slots.is_empty()
                    && node.bottom_slots.iter().all(empty)
                    && node.top_slots.iter().all(empty)
            })
            .collect();
        Ok(Net {
            graph,
            slots,
            params,
            param_info,
            layer_params,
            layer_need_backward,
            bottom_need_backward,
            param_need_backward,
            layer_is_empty,
            rng,
        })
    }

    pub fn phase(&self) -> Phase {
        self.graph.phase()
    }

    /// The slot holding a blob's current data (its last version).
    pub fn data_slot(&self, name: &str) -> Option<usize> {
        let id = self.graph.blobs.iter().position(|b| b.name == name)?;
        self.graph.slots.iter().rposition(|s| s.blob == id)
    }

    /// The slot holding a blob's gradient after backward (its first version, which
    /// in-place layers' backward passes write last, as in Caffe's shared buffer).
    pub fn diff_slot(&self, name: &str) -> Option<usize> {
        let id = self.graph.blobs.iter().position(|b| b.name == name)?;
        self.graph.slots.iter().position(|s| s.blob == id)
    }

    pub fn blob_data(&self, name: &str) -> Option<&[f32]> {
        self.data_slot(name).map(|s| self.slots[s].data.as_slice())
    }

    pub fn blob_diff(&self, name: &str) -> Option<&[f32]> {
        self.diff_slot(name).map(|s| self.slots[s].diff.as_slice())
    }

    /// Sets the data of an input blob (an Input layer's top).
    pub fn set_input(&mut self, name: &str, data: &[f32]) -> Result<()> {
        let s = self
            .data_slot(name)
            .ok_or_else(|| Error::Usage(format!("the net has no blob named `{name}`")))?;
        let blob = &mut self.slots[s];
        if blob.count() != data.len() {
            return Err(Error::Usage(format!(
                "blob `{name}` has shape {:?} ({} values), but {} values were given",
                blob.shape,
                blob.count(),
                data.len()
            )));
        }
        blob.data.copy_from_slice(data);
        Ok(())
    }

    /// A layer's parameter blobs, by layer name.
    pub fn layer_param_blobs(&self, layer: &str) -> Option<Vec<&Blob>> {
        let li = self.graph.layers.iter().position(|l| l.name() == layer)?;
        Some(
            self.layer_params[li]
                .iter()
                .map(|&p| &self.params[p])
                .collect(),
        )
    }

    /// Runs layer `i` forward.
    pub fn forward_layer(&mut self, i: usize) -> Result<()> {
        if self.layer_is_empty[i] {
            return Ok(());
        }
        let node = &self.graph.layers[i];
        let mut tops: Vec<Blob> = node
            .top_slots
            .iter()
            .map(|&s| std::mem::take(&mut self.slots[s]))
            .collect();
        let mut params: Vec<Blob> = self.layer_params[i]
            .iter()
            .map(|&p| std::mem::take(&mut self.params[p]))
            .collect();
        let result = {
            let bottoms: Vec<&Blob> = node.bottom_slots.iter().map(|&s| &self.slots[s]).collect();
            let mut ctx = RunContext {
                phase: self.graph.state.phase(),
                rng: &mut self.rng,
                param_propagate: &[],
            };
            self.graph.layers[i]
                .layer
                .forward(&bottoms, &mut tops, &mut params, &mut ctx)
        };
        let node = &self.graph.layers[i];
        for (&s, t) in node.top_slots.iter().zip(tops) {
            self.slots[s] = t;
        }
        for (&p, b) in self.layer_params[i].iter().zip(params) {
            self.params[p] = b;
        }
        result.map_err(|m| layer_error(&self.graph, i, m))
    }

    /// Runs the whole net forward and returns the weighted loss.
    pub fn forward(&mut self) -> Result<f32> {
        for i in 0..self.graph.layers.len() {
            self.forward_layer(i)?;
        }
        Ok(self.loss())
    }

    /// Σ loss_weight · Σ top over every weighted top.
    pub fn loss(&self) -> f32 {
        let mut loss = 0.0;
        for node in &self.graph.layers {
            for (&s, &w) in node.top_slots.iter().zip(&node.loss_weights) {
                if w != 0.0 {
                    loss += w * self.slots[s].data.iter().sum::<f32>();
                }
            }
        }
        loss
    }

    /// Seeds loss tops with their loss weights (Caffe stores the weight in the top's
    /// diff), then runs every layer that needs it backward.
    pub fn backward(&mut self) -> Result<()> {
        self.prepare_backward();
        for i in (0..self.graph.layers.len()).rev() {
            if self.layer_need_backward[i] {
                self.backward_layer(i)?;
            }
        }
        Ok(())
    }

    /// Seeds loss diffs and clears the gradient sums of shared blob versions; the
    /// first step of [`Net::backward`], public for per-layer timing.
    pub fn prepare_backward(&mut self) {
        for node in &self.graph.layers {
            for (&s, &w) in node.top_slots.iter().zip(&node.loss_weights) {
                if w != 0.0 {
                    self.slots[s].diff.iter_mut().for_each(|d| *d = w);
                }
            }
        }
        // Versions read by several bottoms sum their gradients (Caffe's Split).
        for (s, slot) in self.graph.slots.iter().enumerate() {
            if slot.uses.len() > 1 {
                self.slots[s].diff.iter_mut().for_each(|d| *d = 0.0);
            }
        }
    }

    /// Runs layer `i` backward, writing its bottoms' diffs.
    pub fn backward_layer(&mut self, i: usize) -> Result<()> {
        if self.layer_is_empty[i] {
            return Ok(());
        }
        let node = &self.graph.layers[i];
        let propagate = self.bottom_need_backward[i].clone();
        let bottom_slots = node.bottom_slots.clone();
        // Take bottoms out (a version read twice by this layer is cloned for the
        // second read); shared versions get a fresh diff to be added in afterwards.
        let mut taken: HashSet<usize> = HashSet::new();
        let mut bottoms: Vec<Blob> = Vec::with_capacity(bottom_slots.len());
        let mut shared: Vec<Option<Vec<f32>>> = Vec::with_capacity(bottom_slots.len());
        for &s in &bottom_slots {
            let mut b = if taken.insert(s) {
                std::mem::take(&mut self.slots[s])
            } else {
                bottoms[bottom_slots
                    .iter()
                    .position(|&x| x == s)
                    .expect("taken earlier")]
                .clone()
            };
            if self.graph.slots[s].uses.len() > 1 {
                let n = b.count();
                shared.push(Some(std::mem::replace(&mut b.diff, vec![0.0; n])));
            } else {
                shared.push(None);
            }
            bottoms.push(b);
        }
        let mut params: Vec<Blob> = self.layer_params[i]
            .iter()
            .map(|&p| std::mem::take(&mut self.params[p]))
            .collect();
        let result = {
            let tops: Vec<&Blob> = node.top_slots.iter().map(|&s| &self.slots[s]).collect();
            let mut ctx = RunContext {
                phase: self.graph.state.phase(),
                rng: &mut self.rng,
                param_propagate: &self.param_need_backward[i],
            };
            self.graph.layers[i].layer.backward(
                &tops,
                &propagate,
                &mut bottoms,
                &mut params,
                &mut ctx,
            )
        };
        // Put everything back, summing shared gradients.
        let mut placed: HashSet<usize> = HashSet::new();
        let mut sums: HashMap<usize, Vec<f32>> = HashMap::new();
        for (j, (mut b, acc)) in bottoms.into_iter().zip(shared).enumerate() {
            let s = bottom_slots[j];
            if let Some(mut acc) = acc {
                let acc_ref = sums.entry(s).or_insert_with(|| std::mem::take(&mut acc));
                if propagate[j] {
                    acc_ref.iter_mut().zip(&b.diff).for_each(|(a, d)| *a += d);
                }
                b.diff = Vec::new();
            }
            if placed.insert(s) {
                self.slots[s] = b;
            }
        }
        for (s, acc) in sums {
            self.slots[s].diff = acc;
        }
        for (&p, b) in self.layer_params[i].iter().zip(params) {
            self.params[p] = b;
        }
        result.map_err(|m| layer_error(&self.graph, i, m))
    }

    /// Zeroes every parameter gradient (the solver does this once per iteration).
    pub fn clear_param_diffs(&mut self) {
        for p in &mut self.params {
            p.diff.iter_mut().for_each(|d| *d = 0.0);
        }
    }
}

/// Per layer: whether it runs backward, which bottoms get gradients, and
/// which parameters do.
type NeedBackward = (Vec<bool>, Vec<Vec<bool>>, Vec<Vec<bool>>);

/// Caffe's Net::Init backward analysis: which layers run backward, which of
/// their bottoms get gradients and which of their parameters do (params with
/// lr_mult ≠ 0, blobs that need them, `propagate_down`, layers that contribute
/// to no loss, `force_backward`).
fn need_backward(
    graph: &NetGraph,
    info: &[ParamInfo],
    layer_params: &[Vec<usize>],
    force_backward: bool,
) -> Result<NeedBackward> {
    let n = graph.layers.len();
    let mut blob_need = vec![false; graph.slots.len()];
    let mut layer_need = vec![false; n];
    let mut bottom_need: Vec<Vec<bool>> = Vec::with_capacity(n);
    let mut param_need: Vec<Vec<bool>> = Vec::with_capacity(n);
    for (i, node) in graph.layers.iter().enumerate() {
        let pd = &node.param.propagate_down;
        if !pd.is_empty() && pd.len() != node.bottom_slots.len() {
            return Err(layer_error(
                graph,
                i,
                format!(
                    "propagate_down is given {} times for {} bottoms; give it once per bottom or not at all",
                    pd.len(),
                    node.bottom_slots.len()
                ),
            ));
        }
        let mut need = false;
        let mut bn = Vec::with_capacity(node.bottom_slots.len());
        for (j, &s) in node.bottom_slots.iter().enumerate() {
            need |= blob_need[s];
            bn.push(if pd.is_empty() { blob_need[s] } else { pd[j] });
        }
        let params_need: Vec<bool> = layer_params[i]
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                // The lr_mult that counts is this layer's own spec (shared params must agree).
                let lr = node
                    .param
                    .param
                    .get(k)
                    .map(|s| s.lr_mult())
                    .unwrap_or(info[p].lr_mult);
                lr != 0.0
            })
            .collect();
        need |= params_need.iter().any(|&p| p);
        param_need.push(params_need);
        layer_need[i] = need;
        if need {
            for &s in &node.top_slots {
                blob_need[s] = true;
            }
        }
        bottom_need.push(bn);
    }
    // Walk back from the losses: layers under no loss skip backward.
    let mut under_loss: HashSet<usize> = HashSet::new();
    let mut skip_backprop: HashSet<usize> = HashSet::new();
    for i in (0..n).rev() {
        let node = &graph.layers[i];
        let mut contributes = false;
        let mut skip = true;
        for (t, &s) in node.top_slots.iter().enumerate() {
            let blob = graph.slots[s].blob;
            if node.loss_weights[t] != 0.0 || under_loss.contains(&blob) {
                contributes = true;
            }
            if !skip_backprop.contains(&blob) {
                skip = false;
            }
        }
        if layer_need[i] && skip {
            layer_need[i] = false;
            bottom_need[i].iter_mut().for_each(|b| *b = false);
        }
        if !contributes {
            layer_need[i] = false;
        }
        for (j, &s) in node.bottom_slots.iter().enumerate() {
            let blob = graph.slots[s].blob;
            if contributes {
                under_loss.insert(blob);
            } else {
                bottom_need[i][j] = false;
            }
            if !bottom_need[i][j] {
                skip_backprop.insert(blob);
            }
        }
    }
    if force_backward {
        for (i, node) in graph.layers.iter().enumerate() {
            layer_need[i] = true;
            for (j, need) in bottom_need[i].iter_mut().enumerate() {
                *need = *need || node.layer.allow_force_backward(j);
            }
        }
    }
    Ok((layer_need, bottom_need, param_need))
}

impl Net {
    /// Tops of layers with no bottoms (Input and data layers): what feeds the net.
    pub fn input_blobs(&self) -> Vec<String> {
        let mut names = Vec::new();
        for node in &self.graph.layers {
            if node.bottoms.is_empty() && node.layer.is_source() {
                names.extend(node.param.top.iter().cloned());
            }
        }
        names
    }

    /// Tops of Input layers: blobs only a caller can fill (nothing in the net
    /// reads them from a source).
    pub fn input_layer_tops(&self) -> Vec<String> {
        self.graph
            .layers
            .iter()
            .filter(|l| l.type_name() == "Input")
            .flat_map(|l| l.param.top.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::error::SourceFile;
    use crate::net::{Net, NetOptions};
    use crate::proto::{NetState, Phase};

    /// A net whose convolution and inner product have the given lr_mult, run
    /// forward and backward on fixed input with force_backward; returns the
    /// input gradient and every parameter gradient.
    fn gradients(lr_mult: f32) -> (Vec<f32>, Vec<Vec<f32>>) {
        let text = format!(
            r#"force_backward: true
            layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 2 dim: 2 dim: 5 dim: 5 }} }} }}
            layer {{ name: "conv" type: "Convolution" bottom: "x" top: "c"
                    param {{ lr_mult: {lr_mult} }} param {{ lr_mult: {lr_mult} }}
                    convolution_param {{ num_output: 3 kernel_size: 3 pad: 1
                      weight_filler {{ type: "gaussian" std: 0.5 }} bias_filler {{ type: "constant" value: 0.1 }} }} }}
            layer {{ name: "ip" type: "InnerProduct" bottom: "c" top: "y"
                    param {{ lr_mult: {lr_mult} }} param {{ lr_mult: {lr_mult} }}
                    inner_product_param {{ num_output: 4 weight_filler {{ type: "gaussian" std: 0.5 }} }} }}
            layer {{ name: "t" type: "Input" top: "t" input_param {{ shape {{ dim: 2 dim: 4 }} }} }}
            layer {{ name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "l" }}"#
        );
        let loaded = crate::load::net_from_source(&SourceFile::new("t", text)).unwrap();
        let state = NetState {
            phase: Some(Phase::Train),
            ..Default::default()
        };
        let options = NetOptions {
            seed: 3,
            ..Default::default()
        };
        let mut net = Net::from_loaded(&loaded, &state, &options).unwrap();
        let x: Vec<f32> = (0..100)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
            .collect();
        net.set_input("x", &x).unwrap();
        net.set_input("t", &[0.5; 8]).unwrap();
        net.clear_param_diffs();
        net.forward().unwrap();
        net.backward().unwrap();
        let params = net.params.iter().map(|p| p.diff.clone()).collect();
        (net.blob_diff("x").unwrap().to_vec(), params)
    }

    #[test]
    fn frozen_parameters_get_no_gradient_but_pass_it_down() {
        let (dx_learned, learned) = gradients(1.0);
        let (dx_frozen, frozen) = gradients(0.0);
        assert_eq!(
            dx_frozen, dx_learned,
            "the input gradient does not depend on lr_mult"
        );
        assert!(learned.iter().all(|d| d.iter().any(|&v| v != 0.0)));
        assert!(frozen.iter().all(|d| d.iter().all(|&v| v == 0.0)));
    }

    fn train_net(text: &str) -> crate::error::Result<Net> {
        let loaded = crate::load::net_from_source(&SourceFile::new("t", text)).unwrap();
        let state = NetState {
            phase: Some(Phase::Train),
            ..Default::default()
        };
        Net::from_loaded(&loaded, &state, &NetOptions::default())
    }

    /// A batch of 0 through many layer types: Caffe's empty blobs, no panic, a
    /// zero loss, untouched parameter gradients.
    #[test]
    fn a_batch_of_zero_runs_forward_and_backward() {
        let mut net = train_net(
            r#"force_backward: true
            layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 0 dim: 3 dim: 8 dim: 8 } } }
            layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 0 } } }
            layer { name: "conv" type: "Convolution" bottom: "x" top: "c"
                    convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "xavier" } } }
            layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" }
            layer { name: "relu" type: "ReLU" bottom: "c" top: "c" }
            layer { name: "pool" type: "Pooling" bottom: "c" top: "p"
                    pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
            layer { name: "lrn" type: "LRN" bottom: "p" top: "n" }
            layer { name: "ip" type: "InnerProduct" bottom: "n" top: "y"
                    inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
            layer { name: "drop" type: "Dropout" bottom: "y" top: "y" }
            layer { name: "loss" type: "SoftmaxWithLoss" bottom: "y" bottom: "label" top: "l" }"#,
        )
        .unwrap();
        let loss = net.forward().unwrap();
        assert_eq!(loss, 0.0);
        net.backward().unwrap();
        assert_eq!(net.blob_data("y").unwrap().len(), 0);
        assert!(net.params.iter().all(|p| p.diff.iter().all(|&d| d == 0.0)));
    }

    #[test]
    fn a_net_without_layers_is_refused() {
        let e = train_net("name: \"empty\"").err().unwrap().to_string();
        assert!(e.contains("net `empty`") && e.contains("no layers"), "{e}");
    }
}
