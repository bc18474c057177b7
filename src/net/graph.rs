//! The net graph: the layers a NetState keeps, their bottoms resolved to the blobs
//! earlier layers produced (in-place layers reuse their bottom's blob), every blob
//! shaped, parameter shapes fixed, loss weights assigned and outputs found.

use std::collections::{BTreeSet, HashMap};

use super::filter::{describe_rule, filter_net, layer_included};
use crate::error::{Error, LayerLocation, Result};
use crate::layers::{self, BuildContext, Layer, Shape};
use crate::load::NetSource;
use crate::proto::{LayerParameter, NetParameter, NetState, Phase};

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
        self.param_shapes.iter().map(|s| layers::count(s)).sum()
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

/// Builds and shapes the net for `state`.
pub fn build(
    net: &NetParameter,
    state: &NetState,
    source: &NetSource,
    ctx: &BuildContext,
) -> Result<NetGraph> {
    let net_name = net.name().to_string();
    let layer_error = |index: usize, layer: &LayerParameter, message: String| Error::Layer {
        layer: layer.name().to_string(),
        layer_type: layer.r#type().to_string(),
        location: source.location(index),
        message,
    };
    let kept = filter_net(net, state).map_err(|(i, m)| layer_error(i, &net.layer[i], m))?;
    let ctx = BuildContext {
        phase: state.phase,
        ..ctx.clone()
    };

    let mut blobs: Vec<BlobNode> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut slots: Vec<Slot> = Vec::new();
    // The latest slot of each blob.
    let mut latest: Vec<usize> = Vec::new();
    let mut nodes: Vec<LayerNode> = Vec::with_capacity(kept.len());
    // Each layer name with the first layer that used it and whether it has parameters.
    let mut layer_names: HashMap<String, (usize, bool)> = HashMap::new();
    // Anonymous tops of loss layers: never net outputs, never found by name.
    let mut anonymous: Vec<usize> = Vec::new();

    for (source_index, mut param) in kept {
        // Bottoms must be produced by earlier layers.
        let mut bottoms = Vec::with_capacity(param.bottom.len());
        for (i, name) in param.bottom.iter().enumerate() {
            match by_name.get(name) {
                Some(&id) => bottoms.push(id),
                None => {
                    let m = missing_bottom(net, state, &param, i, name, &by_name);
                    return Err(layer_error(source_index, &param, m));
                }
            }
        }

        let mut layer =
            layers::create(&param, &ctx).map_err(|m| layer_error(source_index, &param, m))?;
        // Caffe's AutoTopBlobs: a loss layer given fewer tops than it needs gets
        // anonymous ones (its loss still counts; it is not a net output).
        let named_tops = param.top.len();
        if layer.is_loss() {
            let needed = layer.blob_counts().min_tops;
            while param.top.len() < needed {
                param.top.push(AUTOMATIC_TOP.to_string());
            }
        }
        let err = |m: String| layer_error(source_index, &param, m);
        if let Some(problem) = layer
            .blob_counts()
            .check(param.bottom.len(), param.top.len())
        {
            return Err(err(problem));
        }

        let bottom_shapes: Vec<Shape> = bottoms.iter().map(|&b| blobs[b].shape.clone()).collect();
        let top_shapes = layer.reshape(&bottom_shapes).map_err(&err)?;
        if top_shapes.len() != param.top.len() {
            return Err(err(format!(
                "computed {} top shape(s) for {} top(s)",
                top_shapes.len(),
                param.top.len()
            )));
        }

        let index = nodes.len();
        let bottom_slots: Vec<usize> = bottoms.iter().map(|&b| latest[b]).collect();
        for (j, &s) in bottom_slots.iter().enumerate() {
            slots[s].uses.push((index, j));
        }
        let mut tops = Vec::with_capacity(param.top.len());
        let mut top_slots = Vec::with_capacity(param.top.len());
        for (i, name) in param.top.iter().enumerate() {
            let in_place = param.bottom.get(i) == Some(name);
            if i >= named_tops {
                let id = blobs.len();
                blobs.push(BlobNode {
                    name: name.clone(),
                    shape: top_shapes[i].clone(),
                    producers: vec![index],
                    consumers: Vec::new(),
                });
                anonymous.push(id);
                tops.push(id);
                latest.push(slots.len());
                top_slots.push(slots.len());
                slots.push(Slot {
                    blob: id,
                    producer: index,
                    uses: Vec::new(),
                });
                continue;
            }
            match by_name.get(name) {
                Some(&id) if in_place => {
                    if blobs[id].shape != top_shapes[i] {
                        return Err(err(format!(
                            "works in place on `{name}` but would change its shape from {:?} to {:?}",
                            blobs[id].shape, top_shapes[i]
                        )));
                    }
                    blobs[id].producers.push(index);
                    tops.push(id);
                    latest[id] = slots.len();
                    top_slots.push(slots.len());
                    slots.push(Slot {
                        blob: id,
                        producer: index,
                        uses: Vec::new(),
                    });
                }
                Some(_) => {
                    return Err(err(format!(
                        "top `{name}` is already produced by an earlier layer; a layer may only reuse a blob \
                         name in place, as the top at the same position as that bottom"
                    )))
                }
                None => {
                    let id = blobs.len();
                    blobs.push(BlobNode {
                        name: name.clone(),
                        shape: top_shapes[i].clone(),
                        producers: vec![index],
                        consumers: Vec::new(),
                    });
                    by_name.insert(name.clone(), id);
                    tops.push(id);
                    latest.push(slots.len());
                    top_slots.push(slots.len());
                    slots.push(Slot {
                        blob: id,
                        producer: index,
                        uses: Vec::new(),
                    });
                }
            }
        }
        for &b in &bottoms {
            blobs[b].consumers.push(index);
        }

        let loss_weights = loss_weights(&param, layer.as_ref()).map_err(&err)?;
        let param_specs = layer.param_specs(&param.param).map_err(&err)?;
        let param_shapes = layer.param_shapes();
        // Caffe allows two layers to share a name; weights are stored and loaded by
        // layer name, so we allow it only while at most one of them has parameters.
        if !param.name().is_empty() {
            let has_params = !param_shapes.is_empty();
            match layer_names.get(param.name()) {
                Some(&(prev, prev_has_params)) if has_params || prev_has_params => {
                    let at = source
                        .location(prev)
                        .line
                        .map(|l| format!(" (line {l})"))
                        .unwrap_or_default();
                    return Err(err(format!(
                        "another layer is also named `{}`{at}; layers with parameters need \
                         unique names, since weights are saved and loaded by layer name",
                        param.name()
                    )));
                }
                Some(_) => {}
                None => {
                    layer_names.insert(param.name().to_string(), (source_index, has_params));
                }
            }
        }
        param.param = param_specs;
        let location = source.location(source_index);
        nodes.push(LayerNode {
            param,
            source_index,
            layer,
            bottoms,
            tops,
            bottom_slots,
            top_slots,
            param_shapes,
            loss_weights,
            location,
        });
    }

    // Outputs: blobs whose last write nobody reads afterwards.
    let mut outputs: BTreeSet<(String, usize)> = BTreeSet::new();
    for (id, blob) in blobs.iter().enumerate() {
        if anonymous.contains(&id) {
            continue;
        }
        let last_write = *blob.producers.last().expect("every blob has a producer");
        if !blob.consumers.iter().any(|&c| c > last_write) {
            outputs.insert((blob.name.clone(), id));
        }
    }
    Ok(NetGraph {
        name: net_name,
        state: state.clone(),
        layers: nodes,
        blobs,
        slots,
        outputs: outputs.into_iter().map(|(_, id)| id).collect(),
    })
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
            producers.push(format!("layer `{}` ({rules})", other.name()));
        }
    }
    let stages = if state.stage.is_empty() {
        "no stage".to_string()
    } else {
        format!("stages {:?}", state.stage)
    };
    let mut msg = format!(
        "bottom {index} `{name}` is not produced by any earlier layer in phase {} with {stages} (level {})",
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
