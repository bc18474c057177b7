//! Layers: one file per layer type behind the [`Layer`] trait, and one registry
//! ([`create`]) that maps a prototxt `type` to its implementation.
//!
//! A layer is built once from its LayerParameter (configuration is validated there),
//! then asked for its top shapes given its bottom shapes (Caffe's LayerSetUp +
//! Reshape), which also fixes the shapes of its parameter blobs.

use std::collections::HashMap;

use crate::blob::Blob;
use crate::proto::{LayerParameter, ParamSpec, Phase};
use crate::shape::Shape;

/// What a layer may know when it is built, besides its own parameters.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    pub phase: Option<Phase>,
    /// Shapes given for the tops of data and Input layers (`--input-shape NAME=N,C,H,W`).
    pub data_shapes: HashMap<String, Shape>,
    /// When set, data layers do not read their sources: their tops are filled from
    /// outside (benchmarks, random-input checks), like Input layers.
    pub external_data: bool,
}

impl BuildContext {
    pub fn phase(&self) -> Phase {
        self.phase.unwrap_or(Phase::Test)
    }
}

/// How many bottoms and tops a layer accepts (inclusive bounds), checked once by
/// the net for every layer, as Caffe's CheckBlobCounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobCounts {
    pub min_bottoms: usize,
    pub max_bottoms: usize,
    pub min_tops: usize,
    pub max_tops: usize,
}

impl BlobCounts {
    pub const fn exact(bottoms: usize, tops: usize) -> Self {
        BlobCounts {
            min_bottoms: bottoms,
            max_bottoms: bottoms,
            min_tops: tops,
            max_tops: tops,
        }
    }

    pub const fn range(bottoms: (usize, usize), tops: (usize, usize)) -> Self {
        BlobCounts {
            min_bottoms: bottoms.0,
            max_bottoms: bottoms.1,
            min_tops: tops.0,
            max_tops: tops.1,
        }
    }

    /// Describes a violation, or None when the counts are acceptable.
    pub fn check(&self, bottoms: usize, tops: usize) -> Option<String> {
        fn want(min: usize, max: usize) -> String {
            match (min, max) {
                (a, b) if a == b => format!("exactly {a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} to {b}"),
            }
        }
        if bottoms < self.min_bottoms || bottoms > self.max_bottoms {
            return Some(format!(
                "takes {} bottom blob(s), but {bottoms} given",
                want(self.min_bottoms, self.max_bottoms)
            ));
        }
        if tops < self.min_tops || tops > self.max_tops {
            return Some(format!(
                "produces {} top blob(s), but {tops} given",
                want(self.min_tops, self.max_tops)
            ));
        }
        None
    }
}

/// What a running layer may use besides its blobs.
pub struct RunContext<'a> {
    pub phase: Phase,
    /// The net's generator (dropout masks and the like), seeded by the solver.
    pub rng: &'a mut crate::rng::Rng,
    /// Caffe's param_propagate_down for backward: per parameter blob of the
    /// layer, whether its gradient is wanted (false when its lr_mult is 0).
    /// Blobs past the end (and an empty slice) are wanted.
    pub param_propagate: &'a [bool],
}

impl RunContext<'_> {
    /// Whether the gradient of parameter blob `i` is wanted.
    pub fn param_wanted(&self, i: usize) -> bool {
        self.param_propagate.get(i).copied().unwrap_or(true)
    }
}

/// One layer of a net, Caffe-style: shapes first, then forward and backward
/// passes over plain f32 blobs.
///
/// Conventions (Caffe's): `forward` writes every top's data; `backward` *writes*
/// (overwrites) the diff of each bottom whose `propagate_down` is true, and
/// *accumulates* into parameter diffs (the solver clears them once per iteration).
/// Tops never alias bottoms: the net gives an in-place layer a separate top.
pub trait Layer: Send {
    /// The bottom/top counts this layer accepts.
    fn blob_counts(&self) -> BlobCounts;

    /// The shapes of the tops for these bottom shapes; validates the bottoms and
    /// fixes the parameter shapes (Caffe's LayerSetUp + Reshape).
    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String>;

    /// The shapes of the blobs this layer stores (weights, biases, statistics), as a
    /// .caffemodel stores them. Valid after `reshape`.
    fn param_shapes(&self) -> Vec<Shape> {
        Vec::new()
    }

    /// Initialises this layer's parameter blobs (shaped as `param_shapes`) with its
    /// fillers. Layers without parameters keep the default.
    fn fill_params(&self, _params: &mut [Blob], _rng: &mut crate::rng::Rng) {}

    /// Computes the tops from the bottoms. Tops arrive shaped as `reshape` said.
    fn forward(
        &mut self,
        _bottoms: &[&Blob],
        _tops: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        // TRANSITIONAL: removed once every layer type implements its forward pass.
        Err("this layer type cannot run forward yet".into())
    }

    /// Computes bottom diffs (where `propagate_down[i]`) and accumulates parameter
    /// diffs from the top diffs. Layers with no gradient (data, accuracy) keep the
    /// default, which does nothing, as Caffe's do.
    fn backward(
        &mut self,
        _tops: &[&Blob],
        _propagate_down: &[bool],
        _bottoms: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        Ok(())
    }

    /// The ParamSpecs (lr_mult, decay_mult, sharing) of this layer's parameter blobs,
    /// given those the prototxt declares. Called by the graph once the layer is
    /// shaped, before parameters are created. Layers that, like Caffe's, rewrite
    /// their own `param` in LayerSetUp override it: BatchNorm freezes its statistics
    /// with lr_mult 0 (and refuses a non-zero one).
    fn param_specs(&self, declared: &[ParamSpec]) -> Result<Vec<ParamSpec>, String> {
        Ok(declared.to_vec())
    }

    /// Positions a data source as if `batches` batches had already been read, so a
    /// run resumed from a snapshot reads what the uninterrupted run would have read
    /// (Caffe restarts its databases from the first record instead). Called before
    /// the first forward pass; sources without a cursor ignore it.
    fn skip_batches(&mut self, _batches: u64) {}

    /// Whether `force_backward` may ask for this bottom's gradient (labels: no).
    fn allow_force_backward(&self, _bottom: usize) -> bool {
        true
    }

    /// Multiply-accumulate operations of one forward pass, for `caffers check`.
    fn forward_macs(&self, _bottoms: &[Shape], _tops: &[Shape]) -> u64 {
        0
    }

    /// Loss layers weight their first top by 1 unless told otherwise.
    fn is_loss(&self) -> bool {
        false
    }

    /// Whether this layer feeds the net from outside (Input, data layers).
    fn is_source(&self) -> bool {
        false
    }
}

/// A data layer whose tops are filled from outside: shapes as the wrapped layer
/// says, no reading (see [`BuildContext::external_data`]).
struct ExternalData {
    inner: Box<dyn Layer>,
}

impl Layer for ExternalData {
    fn blob_counts(&self) -> BlobCounts {
        self.inner.blob_counts()
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        self.inner.reshape(bottoms)
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        _: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        Ok(())
    }

    fn is_source(&self) -> bool {
        true
    }
}

/// Layer types that read a data source.
pub const DATA_SOURCE_TYPES: &[&str] = &[
    "Data",
    "ImageData",
    "HDF5Data",
    "WindowData",
    "MemoryData",
    "Python",
];

/// Every layer type the registry knows, for "did you mean" and listings.
pub const KNOWN_TYPES: &[&str] = &[
    "Input",
    "Convolution",
    "Deconvolution",
    "Pooling",
    "InnerProduct",
    // data layers (data branch)
    "Data",
    "ImageData",
    "HDF5Data",
    "WindowData",
    "MemoryData",
    "Python",
    // vision layers (pool branch)
    "LRN",
    // neuron layers (neuron branch)
    "ReLU",
    "PReLU",
    "ELU",
    "Sigmoid",
    "TanH",
    "AbsVal",
    "BNLL",
    "Power",
    "Exp",
    "Log",
    "Threshold",
    "Clip",
    "Swish",
    "Dropout",
    "BatchNorm",
    "Scale",
    "Bias",
    "MVN",
    // utility and loss layers (util branch)
    "Softmax",
    "SoftmaxWithLoss",
    "EuclideanLoss",
    "SigmoidCrossEntropyLoss",
    "HingeLoss",
    "Accuracy",
    "ArgMax",
    "Eltwise",
    "Concat",
    "Slice",
    "Split",
    "Flatten",
    "Reshape",
    "Crop",
    "Tile",
    "Reduction",
    "Silence",
    "DummyData",
    "ContrastiveLoss",
    "MultinomialLogisticLoss",
    "InfogainLoss",
    "Parameter",
    "Embed",
    "BatchReindex",
];

/// Builds the layer a LayerParameter describes.
pub fn create(param: &LayerParameter, ctx: &BuildContext) -> Result<Box<dyn Layer>, String> {
    let layer: Box<dyn Layer> = match param.r#type() {
        "Input" => Box::new(input::Input::new(param, ctx)?),
        "Convolution" => Box::new(convolution::Convolution::new(param, false)?),
        "Deconvolution" => Box::new(convolution::Convolution::new(param, true)?),
        "Pooling" => Box::new(pooling::Pooling::new(param)?),
        "InnerProduct" => Box::new(inner_product::InnerProduct::new(param)?),
        // data layers (data branch)
        "Data" => Box::new(data::Data::new(param, ctx)?),
        "ImageData" => Box::new(image_data::ImageData::new(param, ctx)?),
        "MemoryData" => Box::new(memory_data::MemoryData::new(param)?),
        "HDF5Data" | "WindowData" | "Python" => {
            Box::new(unsupported_data::UnsupportedData::new(param, ctx)?)
        }
        // vision layers (pool branch)
        "LRN" => Box::new(lrn::Lrn::new(param)?),
        // neuron layers (neuron branch)
        "ReLU" => Box::new(Neuron(relu::ReLU::new(param)?)),
        "PReLU" => Box::new(prelu::PReLU::new(param)?),
        "ELU" => Box::new(Neuron(elu::Elu::new(param)?)),
        "Sigmoid" => Box::new(Neuron(sigmoid::Sigmoid)),
        "TanH" => Box::new(Neuron(tanh::TanH)),
        "AbsVal" => Box::new(Neuron(absval::AbsVal)),
        "BNLL" => Box::new(Neuron(bnll::Bnll)),
        "Power" => Box::new(Neuron(power::Power::new(param)?)),
        "Exp" => Box::new(Neuron(exp::Exp::new(param)?)),
        "Log" => Box::new(Neuron(log::Log::new(param)?)),
        "Threshold" => Box::new(Neuron(threshold::Threshold::new(param)?)),
        "Clip" => Box::new(Neuron(clip::Clip::new(param)?)),
        "Swish" => Box::new(Neuron(swish::Swish::new(param)?)),
        "Dropout" => Box::new(dropout::Dropout::new(param)?),
        "BatchNorm" => Box::new(batch_norm::BatchNorm::new(param, ctx)?),
        "Scale" => Box::new(scale::Scale::new(param)?),
        "Bias" => Box::new(bias::Bias::new(param)?),
        "MVN" => Box::new(mvn::Mvn::new(param)?),
        // utility and loss layers (util branch)
        "Softmax" => Box::new(softmax::Softmax::new(param)?),
        "SoftmaxWithLoss" => Box::new(softmax_loss::SoftmaxWithLoss::new(param)?),
        "EuclideanLoss" => Box::new(euclidean_loss::EuclideanLoss::new(param)?),
        "SigmoidCrossEntropyLoss" => {
            Box::new(sigmoid_ce_loss::SigmoidCrossEntropyLoss::new(param)?)
        }
        "HingeLoss" => Box::new(hinge_loss::HingeLoss::new(param)?),
        "Accuracy" => Box::new(accuracy::Accuracy::new(param)?),
        "ArgMax" => Box::new(argmax::ArgMax::new(param)?),
        "Eltwise" => Box::new(eltwise::Eltwise::new(param)?),
        "Concat" => Box::new(concat::Concat::new(param)?),
        "Slice" => Box::new(slice::Slice::new(param)?),
        "Split" => Box::new(split::Split::new(param)?),
        "Flatten" => Box::new(flatten::Flatten::new(param)?),
        "Reshape" => Box::new(reshape::Reshape::new(param)?),
        "Crop" => Box::new(crop::Crop::new(param)?),
        "Tile" => Box::new(tile::Tile::new(param)?),
        "Reduction" => Box::new(reduction::Reduction::new(param)?),
        "Silence" => Box::new(silence::Silence::new(param)?),
        "DummyData" => Box::new(dummy_data::DummyData::new(param)?),
        "ContrastiveLoss" => Box::new(contrastive_loss::ContrastiveLoss::new(param)?),
        "MultinomialLogisticLoss" => Box::new(
            multinomial_logistic_loss::MultinomialLogisticLoss::new(param)?,
        ),
        "InfogainLoss" => Box::new(infogain_loss::InfogainLoss::new(param)?),
        "Parameter" => Box::new(parameter::Parameter::new(param)?),
        "Embed" => Box::new(embed::Embed::new(param)?),
        "BatchReindex" => Box::new(batch_reindex::BatchReindex::new(param)?),
        other => {
            let hint = crate::error::did_you_mean(other, KNOWN_TYPES.iter().copied())
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(if other.is_empty() {
                "has no `type`".to_string()
            } else {
                format!("unknown layer type `{other}`{hint}")
            });
        }
    };
    if ctx.external_data && DATA_SOURCE_TYPES.contains(&param.r#type()) {
        return Ok(Box::new(ExternalData { inner: layer }));
    }
    Ok(layer)
}

pub mod convolution;
// data layers (data branch)
pub mod data;
pub mod data_shapes;
pub mod image_data;
pub mod inner_product;
pub mod input;
pub mod lrn;
pub mod memory_data;
pub mod pooling;
// neuron layers (neuron branch)
pub mod absval;
pub mod batch_norm;
pub mod bias;
pub mod bnll;
pub mod clip;
pub mod dropout;
pub mod elu;
pub mod exp;
pub mod log;
pub mod mvn;
pub mod neuron;
pub mod power;
pub mod prelu;
pub mod relu;
pub mod scale;
pub mod sigmoid;
pub mod swish;
pub mod tanh;
pub mod threshold;
use neuron::Neuron;
// utility and loss layers (util branch)
pub mod accuracy;
pub mod argmax;
pub mod axis_copy;
pub mod batch_reindex;
pub mod concat;
pub mod contrastive_loss;
pub mod crop;
pub mod dummy_data;
pub mod eltwise;
pub mod embed;
pub mod euclidean_loss;
pub mod flatten;
pub mod hinge_loss;
pub mod infogain_loss;
pub mod loss_norm;
pub mod multinomial_logistic_loss;
pub mod parameter;
pub mod reduction;
pub mod reshape;
pub mod sigmoid_ce_loss;
pub mod silence;
pub mod slice;
pub mod softmax;
pub mod softmax_loss;
pub mod softmax_math;
pub mod split;
#[cfg(test)]
pub mod testing;
pub mod tile;
pub mod unsupported_data;
