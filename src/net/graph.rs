//! The net graph: the layers a NetState keeps, their bottoms resolved to the blobs
//! earlier layers produced (in-place layers reuse their bottom's blob), every blob
//! shaped, parameter shapes fixed, loss weights assigned and outputs found — each a
//! named step of [`build`].

use std::collections::{BTreeSet, HashMap};

use super::filter::{describe_rule, filter_net, layer_included};
use crate::error::{shown, Error, LayerLocation, Result};
use crate::io::blob_proto::{self, StoredBlob};
use crate::layers::{self, BuildContext, Layer};
use crate::load::NetSource;
use crate::proto::{LayerParameter, NetParameter, NetState, Phase};
use crate::shape::{checked_count, Shape};

/// The name Caffe gives the tops it adds to a loss layer that names none.
pub const AUTOMATIC_TOP: &str = "(automatic)";

/// One blob of the graph. In-place layers write the blob they read, so a blob can
/// have several producers; `producers` lists them in order.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobNode {
    pub name: String,
    pub shape: Shape,
    pub producers: Vec<usize>,
    pub consumers: Vec<usize>,
}

/// One stored version of a blob: what one layer's top wrote. An in-place layer
/// writes a new version of its bottom's blob, so every top has its own slot and
/// layers never read and write the same buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub blob: usize,
    pub producer: usize,
    /// (layer, bottom index) pairs that read this version.
    pub uses: Vec<(usize, usize)>,
}

/// One layer of the graph.
pub struct LayerNode {
    pub param: LayerParameter,
    /// Index of this layer in the unfiltered NetParameter.
    pub source_index: usize,
    pub layer: Box<dyn Layer>,
    pub bottoms: Vec<usize>,
    pub tops: Vec<usize>,
    pub bottom_slots: Vec<usize>,
    pub top_slots: Vec<usize>,
    pub param_shapes: Vec<Shape>,
    /// The layer's own `blobs { … }`, checked against `param_shapes`; they replace
    /// the fillers' values, as Caffe's Layer constructor loads them.
    pub inline_blobs: Vec<StoredBlob>,
    /// One weight per top (0 for non-loss tops).
    pub loss_weights: Vec<f32>,
    pub location: LayerLocation,
}

impl LayerNode {
    pub fn name(&self) -> &str {
        self.param.name()
    }

    pub fn type_name(&self) -> &str {
        self.param.r#type()
    }

    /// Number of stored values, as a .caffemodel stores them.
    pub fn param_count(&self) -> usize {
        self.param_shapes
            .iter()
            .map(|s| crate::shape::count(s))
            .sum()
    }
}

/// A built, fully shaped net.
pub struct NetGraph {
    pub name: String,
    pub state: NetState,
    pub layers: Vec<LayerNode>,
    pub blobs: Vec<BlobNode>,
    pub slots: Vec<Slot>,
    /// Blobs no layer consumes, in alphabetical order (Caffe keeps them in a set).
    pub outputs: Vec<usize>,
}

impl NetGraph {
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    pub fn blob(&self, name: &str) -> Option<&BlobNode> {
        self.blobs.iter().find(|b| b.name == name)
    }

    pub fn total_params(&self) -> usize {
        self.layers.iter().map(LayerNode::param_count).sum()
    }
}

/// The state a net is built in: the file's own `state` with the phase, level and
/// stages the caller gives (as Caffe's Net constructor merges them).
pub fn net_state(
    net: &NetParameter,
    phase: Phase,
    level: Option<i32>,
    stages: &[String],
) -> NetState {
    let mut state = net.state();
    state.phase = Some(phase);
    if level.is_some() {
        state.level = level;
    }
    state.stage.extend(stages.iter().cloned());
    state
}

/// Builds and shapes the net for `state`, in Caffe's order: filter the layers by
/// their rules, then add each kept layer to the graph, then find the outputs.
pub fn build(
    net: &NetParameter,
    state: &NetState,
    source: &NetSource,
    ctx: &BuildContext,
) -> Result<NetGraph> {
    let kept = filter_net(net, state).map_err(|(i, m)| layer_error(source, i, &net.layer[i], m))?;
    let ctx = BuildContext {
        phase: state.phase,
        ..ctx.clone()
    };
    let mut wiring = Wiring::default();
    for (source_index, param) in kept {
        let added = KeptLayer {
            net,
            state,
            source,
            source_index,
        };
        wiring.add_layer(&added, param, &ctx)?;
    }
    let outputs = wiring.outputs();
    Ok(NetGraph {
        name: net.name().to_string(),
        state: state.clone(),
        layers: wiring.nodes,
        blobs: wiring.blobs,
        slots: wiring.slots,
        outputs,
    })
}

fn layer_error(source: &NetSource, index: usize, layer: &LayerParameter, message: String) -> Error {
    Error::Layer {
        layer: layer.name().to_string(),
        layer_type: layer.r#type().to_string(),
        location: source.location(index),
        message,
    }
}

/// A layer the filter kept, with what its error messages and hints need.
struct KeptLayer<'a> {
    net: &'a NetParameter,
    state: &'a NetState,
    source: &'a NetSource,
    /// Its index in the unfiltered NetParameter.
    source_index: usize,
}

/// The graph as it grows, one kept layer at a time.
#[derive(Default)]
struct Wiring {
    blobs: Vec<BlobNode>,
    by_name: HashMap<String, usize>,
    slots: Vec<Slot>,
    /// The latest slot of each blob.
    latest: Vec<usize>,
    nodes: Vec<LayerNode>,
    /// Each layer name with the first layer that used it and whether it has parameters.
    layer_names: HashMap<String, (usize, bool)>,
    /// Anonymous tops of loss layers: never net outputs, never found by name.
    anonymous: Vec<usize>,
}

impl Wiring {
    /// Connects a layer's bottoms, creates and shapes it, connects its tops, and
    /// fixes its loss weights and parameters.
    fn add_layer(
        &mut self,
        kept: &KeptLayer,
        mut param: LayerParameter,
        ctx: &BuildContext,
    ) -> Result<()> {
        let err = |param: &LayerParameter, m: String| {
            layer_error(kept.source, kept.source_index, param, m)
        };
        let bottoms = self
            .find_bottoms(kept, &param)
            .map_err(|m| err(&param, m))?;
        let (mut layer, named_tops) = create_layer(&mut param, ctx).map_err(|m| err(&param, m))?;
        let bottom_shapes: Vec<Shape> = bottoms
            .iter()
            .map(|&b| self.blobs[b].shape.clone())
            .collect();
        let top_shapes =
            shape_tops(layer.as_mut(), &param, &bottom_shapes).map_err(|m| err(&param, m))?;
        let index = self.nodes.len();
        let bottom_slots = self.read_bottoms(index, &bottoms);
        let (tops, top_slots) = self
            .connect_tops(index, &param, named_tops, &top_shapes)
            .map_err(|m| err(&param, m))?;
        let loss_weights = loss_weights(&param, layer.as_ref()).map_err(|m| err(&param, m))?;
        let param_specs = layer
            .param_specs(&param.param)
            .map_err(|m| err(&param, m))?;
        let param_shapes = layer.param_shapes();
        self.claim_name(kept, &param, !param_shapes.is_empty())
            .map_err(|m| err(&param, m))?;
        let inline_blobs = inline_blobs(&param, &param_shapes).map_err(|m| err(&param, m))?;
        // Decoded once; the node keeps the values, not a second copy as text.
        param.blobs.clear();
        param.param = param_specs;
        self.nodes.push(LayerNode {
            param,
            source_index: kept.source_index,
            layer,
            bottoms,
            tops,
            bottom_slots,
            top_slots,
            param_shapes,
            inline_blobs,
            loss_weights,
            location: kept.source.location(kept.source_index),
        });
        Ok(())
    }

    /// The blobs a layer's bottoms name, each produced by an earlier layer.
    fn find_bottoms(&self, kept: &KeptLayer, param: &LayerParameter) -> Result<Vec<usize>, String> {
        param
            .bottom
            .iter()
            .enumerate()
            .map(|(i, name)| {
                self.by_name.get(name).copied().ok_or_else(|| {
                    missing_bottom(kept.net, kept.state, param, i, name, &self.by_name)
                })
            })
            .collect()
    }

    /// Records layer `index` as the reader of each bottom's latest version; returns
    /// those versions' slots.
    fn read_bottoms(&mut self, index: usize, bottoms: &[usize]) -> Vec<usize> {
        let bottom_slots: Vec<usize> = bottoms.iter().map(|&b| self.latest[b]).collect();
        for (j, &s) in bottom_slots.iter().enumerate() {
            self.slots[s].uses.push((index, j));
        }
        for &b in bottoms {
            self.blobs[b].consumers.push(index);
        }
        bottom_slots
    }

    /// A new slot that layer `index` writes for `blob`, now the blob's latest.
    fn write_slot(&mut self, blob: usize, index: usize) -> usize {
        let slot = self.slots.len();
        self.slots.push(Slot {
            blob,
            producer: index,
            uses: Vec::new(),
        });
        if blob == self.latest.len() {
            self.latest.push(slot);
        } else {
            self.latest[blob] = slot;
        }
        slot
    }

    /// A new blob that layer `index` produces first.
    fn new_blob(&mut self, name: &str, shape: &Shape, index: usize) -> usize {
        let id = self.blobs.len();
        self.blobs.push(BlobNode {
            name: name.to_string(),
            shape: shape.clone(),
            producers: vec![index],
            consumers: Vec::new(),
        });
        id
    }

    /// Gives each top of layer `index` its blob: a new one, or (in place, at the
    /// position of the same-named bottom) a new version of the bottom's blob.
    /// Tops past `named_tops` are the anonymous ones a loss layer was given.
    fn connect_tops(
        &mut self,
        index: usize,
        param: &LayerParameter,
        named_tops: usize,
        top_shapes: &[Shape],
    ) -> Result<(Vec<usize>, Vec<usize>), String> {
        let mut tops = Vec::with_capacity(param.top.len());
        let mut top_slots = Vec::with_capacity(param.top.len());
        for (i, name) in param.top.iter().enumerate() {
            let in_place = param.bottom.get(i) == Some(name);
            let id = if i >= named_tops {
                let id = self.new_blob(name, &top_shapes[i], index);
                self.anonymous.push(id);
                id
            } else {
                match self.by_name.get(name) {
                    Some(&id) if in_place => {
                        if self.blobs[id].shape != top_shapes[i] {
                            return Err(format!(
                                "works in place on `{}` but would change its shape from {:?} to {:?}",
                                shown(name),
                                self.blobs[id].shape,
                                top_shapes[i]
                            ));
                        }
                        self.blobs[id].producers.push(index);
                        id
                    }
                    Some(_) => {
                        return Err(format!(
                            "top `{}` is already produced by an earlier layer; a layer may only reuse a blob \
                             name in place, as the top at the same position as that bottom",
                            shown(name)
                        ))
                    }
                    None => {
                        let id = self.new_blob(name, &top_shapes[i], index);
                        self.by_name.insert(name.clone(), id);
                        id
                    }
                }
            };
            tops.push(id);
            top_slots.push(self.write_slot(id, index));
        }
        Ok((tops, top_slots))
    }

    /// Caffe allows two layers to share a name; weights are stored and loaded by
    /// layer name, so we allow it only while at most one of them has parameters.
    fn claim_name(
        &mut self,
        kept: &KeptLayer,
        param: &LayerParameter,
        has_params: bool,
    ) -> Result<(), String> {
        if param.name().is_empty() {
            return Ok(());
        }
        match self.layer_names.get(param.name()) {
            Some(&(prev, prev_has_params)) if has_params || prev_has_params => {
                let at = kept
                    .source
                    .location(prev)
                    .line
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default();
                Err(format!(
                    "another layer is also named `{}`{at}; layers with parameters need \
                     unique names, since weights are saved and loaded by layer name",
                    shown(param.name())
                ))
            }
            Some(_) => Ok(()),
            None => {
                self.layer_names
                    .insert(param.name().to_string(), (kept.source_index, has_params));
                Ok(())
            }
        }
    }

    /// Blobs whose last write nobody reads afterwards, in name order (Caffe keeps
    /// them in a set).
    fn outputs(&self) -> Vec<usize> {
        let mut outputs: BTreeSet<(String, usize)> = BTreeSet::new();
        for (id, blob) in self.blobs.iter().enumerate() {
            if self.anonymous.contains(&id) {
                continue;
            }
            let last_write = *blob.producers.last().expect("every blob has a producer");
            if !blob.consumers.iter().any(|&c| c > last_write) {
                outputs.insert((blob.name.clone(), id));
            }
        }
        outputs.into_iter().map(|(_, id)| id).collect()
    }
}

/// Creates a layer and checks its bottom and top counts; returns it with the
/// number of tops the file named. Caffe's AutoTopBlobs: a loss layer given fewer
/// tops than it needs gets anonymous ones (its loss still counts; it is not a net
/// output).
fn create_layer(
    param: &mut LayerParameter,
    ctx: &BuildContext,
) -> Result<(Box<dyn Layer>, usize), String> {
    let layer = layers::create(param, ctx)?;
    let named_tops = param.top.len();
    if layer.is_loss() {
        let needed = layer.blob_counts().min_tops;
        while param.top.len() < needed {
            param.top.push(AUTOMATIC_TOP.to_string());
        }
    }
    if let Some(problem) = layer
        .blob_counts()
        .check(param.bottom.len(), param.top.len())
    {
        return Err(problem);
    }
    Ok((layer, named_tops))
}

/// The layer's top shapes for its bottom shapes, one per top. Every top and
/// parameter blob is held to Caffe's INT_MAX element limit here, so `check`
/// refuses what could never be allocated, and later arithmetic cannot overflow.
fn shape_tops(
    layer: &mut dyn Layer,
    param: &LayerParameter,
    bottom_shapes: &[Shape],
) -> Result<Vec<Shape>, String> {
    let top_shapes = layer.reshape(bottom_shapes)?;
    if top_shapes.len() != param.top.len() {
        return Err(format!(
            "computed {} top shape(s) for {} top(s)",
            top_shapes.len(),
            param.top.len()
        ));
    }
    for (shape, name) in top_shapes.iter().zip(&param.top) {
        checked_count(shape).map_err(|m| format!("top `{}`: {m}", shown(name)))?;
    }
    for (i, shape) in layer.param_shapes().iter().enumerate() {
        checked_count(shape).map_err(|m| format!("parameter blob {i}: {m}"))?;
    }
    Ok(top_shapes)
}

/// A layer's inline `blobs { … }` decoded (Caffe's FromProto) and checked against
/// the parameter shapes the layer fixed, blob by blob; none is fine (fillers).
fn inline_blobs(param: &LayerParameter, shapes: &[Shape]) -> Result<Vec<StoredBlob>, String> {
    if param.blobs.is_empty() {
        return Ok(Vec::new());
    }
    if param.blobs.len() != shapes.len() {
        return Err(format!(
            "has {} inline blob(s), but the layer's parameters are {} blob(s) of shapes {shapes:?}",
            param.blobs.len(),
            shapes.len()
        ));
    }
    param
        .blobs
        .iter()
        .zip(shapes)
        .enumerate()
        .map(|(i, (b, shape))| {
            let stored = blob_proto::from_text(b).map_err(|m| format!("inline blob {i} {m}"))?;
            if !stored.fits(shape) {
                return Err(format!(
                    "inline blob {i} has shape {:?}, but the layer expects {shape:?}",
                    stored.shape()
                ));
            }
            Ok(stored)
        })
        .collect()
}

/// Caffe's SetLossWeights: explicit `loss_weight`s (one per top), or 1 on the first
/// top of a loss layer.
fn loss_weights(param: &LayerParameter, layer: &dyn Layer) -> Result<Vec<f32>, String> {
    let tops = param.top.len();
    if !param.loss_weight.is_empty() {
        if param.loss_weight.len() != tops {
            return Err(format!(
                "gives {} loss_weight value(s) for {tops} top(s); give one per top",
                param.loss_weight.len()
            ));
        }
        return Ok(param.loss_weight.clone());
    }
    let mut w = vec![0.0; tops];
    if layer.is_loss() && tops > 0 {
        w[0] = 1.0;
    }
    Ok(w)
}

/// Explains an undefined bottom: which layers would produce it, and under which
/// rules, so the user can pick the right phase or stage.
fn missing_bottom(
    net: &NetParameter,
    state: &NetState,
    layer: &LayerParameter,
    index: usize,
    name: &str,
    available: &HashMap<String, usize>,
) -> String {
    let mut producers = Vec::new();
    for other in &net.layer {
        if other.top.iter().any(|t| t == name) && !layer_included(state, other).unwrap_or(false) {
            let rules = if other.include.is_empty() {
                format!(
                    "excluded by {}",
                    other
                        .exclude
                        .iter()
                        .map(describe_rule)
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            } else {
                format!(
                    "included only with {}",
                    other
                        .include
                        .iter()
                        .map(describe_rule)
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            producers.push(format!("layer `{}` ({rules})", shown(other.name())));
        }
    }
    let stages = if state.stage.is_empty() {
        "no stage".to_string()
    } else {
        format!("stages {:?}", state.stage)
    };
    let mut msg = format!(
        "bottom {index} `{}` is not produced by any earlier layer in phase {} with {stages} (level {})",
        shown(name),
        state.phase(),
        state.level()
    );
    if producers.is_empty() {
        if layer.top.iter().any(|t| t == name) {
            msg.push_str("; a layer cannot read a blob it is the first to produce");
        } else if let Some(near) =
            crate::error::did_you_mean(name, available.keys().map(String::as_str))
        {
            msg.push_str(&format!(" — did you mean `{near}`?"));
        }
    } else {
        msg.push_str(&format!(
            "; it would be defined by {} — choose the phase/stage with --phase/--stage",
            producers.join(", ")
        ));
    }
    msg
}
