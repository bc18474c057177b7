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
        bottoms: &[&Blob],
        tops: &mut [Blob],
        params: &mut [Blob],
        ctx: &mut RunContext,
    ) -> Result<(), String>;

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

    /// The working memory (bytes) the layer allocates while running, beyond its
    /// blobs and parameters; valid after `reshape`. Counted by the memory budget.
    fn scratch_bytes(&self) -> u64 {
        0
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

/// Declares the layer modules and generates, from one table, [`create`],
/// [`KNOWN_TYPES`] and [`DATA_SOURCE_TYPES`], so the three cannot disagree.
///
/// One row per module: `module: "Type" => constructor, …;`, each type name marked
/// `[source]` when it reads a data source. Constructors see the LayerParameter and BuildContext under
/// the two names given first (`|param, ctx|`).
macro_rules! layer_registry {
    (
        |$param:ident, $ctx:ident|
        $(
            $module:ident:
            $( $name:literal $([$source:ident])? => $ctor:expr ),+ ;
        )*
    ) => {
        $( pub mod $module; )*

        /// Every layer type the registry knows, for "did you mean" and listings.
        pub const KNOWN_TYPES: &[&str] = &[ $( $( $name, )+ )* ];

        /// Layer types that read a data source.
        pub const DATA_SOURCE_TYPES: &[&str] =
            &[ $( $( $( source_marked!($name, $source), )? )+ )* ];

        /// Builds the layer a LayerParameter describes.
        pub fn create(
            $param: &LayerParameter,
            $ctx: &BuildContext,
        ) -> Result<Box<dyn Layer>, String> {
            let layer: Box<dyn Layer> = match $param.r#type() {
                $( $( $name => Box::new($ctor), )+ )*
                other => return Err(unknown_type(other)),
            };
            if $ctx.external_data && DATA_SOURCE_TYPES.contains(&$param.r#type()) {
                return Ok(Box::new(ExternalData { inner: layer }));
            }
            Ok(layer)
        }
    };
}

/// A type name of the registry that carries the `[source]` mark.
macro_rules! source_marked {
    ($name:literal, source) => {
        $name
    };
}

layer_registry! {
    |param, ctx|
    input: "Input" => input::Input::new(param, ctx)?;
    convolution:
        "Convolution" => convolution::Convolution::new(param, false)?,
        "Deconvolution" => convolution::Convolution::new(param, true)?;
    pooling: "Pooling" => pooling::Pooling::new(param)?;
    median: "Median" => median::Median::new(param)?;
    inner_product: "InnerProduct" => inner_product::InnerProduct::new(param)?;
    // data layers
    data: "Data" [source] => data::Data::new(param, ctx)?;
    image_data: "ImageData" [source] => image_data::ImageData::new(param, ctx)?;
    hdf5_data: "HDF5Data" [source] => hdf5_data::HDF5Data::new(param, ctx)?;
    hdf5_output: "HDF5Output" => hdf5_output::HDF5Output::new(param)?;
    unsupported_data:
        "WindowData" [source] => unsupported_data::UnsupportedData::new(param, ctx)?,
        "Python" [source] => unsupported_data::UnsupportedData::new(param, ctx)?;
    memory_data: "MemoryData" [source] => memory_data::MemoryData::new(param)?;
    // vision layers
    lrn: "LRN" => lrn::Lrn::new(param)?;
    // neuron layers
    relu: "ReLU" => Neuron(relu::ReLU::new(param)?);
    prelu: "PReLU" => prelu::PReLU::new(param)?;
    elu: "ELU" => Neuron(elu::Elu::new(param)?);
    sigmoid: "Sigmoid" => Neuron(sigmoid::Sigmoid);
    tanh: "TanH" => Neuron(tanh::TanH);
    absval: "AbsVal" => Neuron(absval::AbsVal);
    bnll: "BNLL" => Neuron(bnll::Bnll);
    power: "Power" => Neuron(power::Power::new(param)?);
    exp: "Exp" => Neuron(exp::Exp::new(param)?);
    log: "Log" => Neuron(log::Log::new(param)?);
    threshold: "Threshold" => Neuron(threshold::Threshold::new(param)?);
    clip: "Clip" => Neuron(clip::Clip::new(param)?);
    swish: "Swish" => Neuron(swish::Swish::new(param)?);
    dropout: "Dropout" => dropout::Dropout::new(param)?;
    batch_norm: "BatchNorm" => batch_norm::BatchNorm::new(param, ctx)?;
    scale: "Scale" => scale::Scale::new(param)?;
    bias: "Bias" => bias::Bias::new(param)?;
    mvn: "MVN" => mvn::Mvn::new(param)?;
    // utility and loss layers
    softmax: "Softmax" => softmax::Softmax::new(param)?;
    softmax_loss: "SoftmaxWithLoss" => Loss::new(param, softmax_loss::SoftmaxWithLoss::new(param)?);
    euclidean_loss: "EuclideanLoss" => Loss::new(param, euclidean_loss::EuclideanLoss::new(param)?);
    sigmoid_ce_loss:
        "SigmoidCrossEntropyLoss" => Loss::new(param, sigmoid_ce_loss::SigmoidCrossEntropyLoss::new(param)?);
    hinge_loss: "HingeLoss" => Loss::new(param, hinge_loss::HingeLoss::new(param)?);
    accuracy: "Accuracy" => accuracy::Accuracy::new(param)?;
    argmax: "ArgMax" => argmax::ArgMax::new(param)?;
    eltwise: "Eltwise" => eltwise::Eltwise::new(param)?;
    concat: "Concat" => concat::Concat::new(param)?;
    slice: "Slice" => slice::Slice::new(param)?;
    split: "Split" => split::Split::new(param)?;
    flatten: "Flatten" => flatten::Flatten::new(param)?;
    reshape: "Reshape" => reshape::Reshape::new(param)?;
    crop: "Crop" => crop::Crop::new(param)?;
    tile: "Tile" => tile::Tile::new(param)?;
    reduction: "Reduction" => reduction::Reduction::new(param)?;
    silence: "Silence" => silence::Silence::new(param)?;
    dummy_data: "DummyData" => dummy_data::DummyData::new(param)?;
    contrastive_loss: "ContrastiveLoss" => Loss::new(param, contrastive_loss::ContrastiveLoss::new(param)?);
    multinomial_logistic_loss:
        "MultinomialLogisticLoss" => Loss::new(param, multinomial_logistic_loss::MultinomialLogisticLoss::new(param)?);
    infogain_loss: "InfogainLoss" => Loss::new(param, infogain_loss::InfogainLoss::new(param)?);
    parameter: "Parameter" => parameter::Parameter::new(param)?;
    embed: "Embed" => embed::Embed::new(param)?;
    batch_reindex: "BatchReindex" => batch_reindex::BatchReindex::new(param)?;
}

/// The error for a type the registry does not know, with the nearest known one.
fn unknown_type(name: &str) -> String {
    if name.is_empty() {
        return "has no `type`".to_string();
    }
    let hint = crate::error::did_you_mean(name, KNOWN_TYPES.iter().copied())
        .map(|s| format!(" — did you mean `{s}`?"))
        .unwrap_or_default();
    format!("unknown layer type `{name}`{hint}")
}

// Modules that hold no layer type of their own: helpers shared by layers.
pub mod axis_copy;
pub mod data_shapes;
pub mod loss;
pub mod loss_norm;
pub mod neuron;
pub mod softmax_math;
#[cfg(test)]
pub mod testing;
use loss::Loss;
use neuron::Neuron;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::layer_param;

    /// The parameters a type cannot be built without (beyond `type` and one top `t`).
    const REQUIRED: &[(&str, &str)] = &[
        ("Input", "input_param { shape { dim: 1 } }"),
        (
            "Convolution",
            "convolution_param { num_output: 1 kernel_size: 1 }",
        ),
        (
            "Deconvolution",
            "convolution_param { num_output: 1 kernel_size: 1 }",
        ),
        ("InnerProduct", "inner_product_param { num_output: 1 }"),
        ("Median", "median_param { kernel_size: 1 }"),
        (
            "MemoryData",
            "memory_data_param { batch_size: 1 channels: 1 height: 1 width: 1 }",
        ),
        ("Clip", "clip_param { min: 0 max: 1 }"),
        ("Tile", "tile_param { tiles: 2 }"),
        ("DummyData", "dummy_data_param { shape { dim: 1 } }"),
        ("Embed", "embed_param { num_output: 1 input_dim: 1 }"),
        ("HDF5Output", "hdf5_output_param { file_name: \"out.h5\" }"),
        (
            "InfogainLoss",
            "bottom: \"x\" bottom: \"label\" bottom: \"h\"",
        ),
    ];

    #[test]
    fn every_known_type_builds_from_its_defaults() {
        // Data layers take their top shapes from here when their source is missing.
        let ctx = BuildContext {
            data_shapes: HashMap::from([("t".to_string(), vec![2, 3])]),
            ..BuildContext::default()
        };
        for name in KNOWN_TYPES {
            let extra = REQUIRED
                .iter()
                .find(|(t, _)| t == name)
                .map_or("", |(_, text)| text);
            let param = layer_param(&format!("type: \"{name}\" top: \"t\" {extra}"));
            if let Err(e) = create(&param, &ctx) {
                panic!("{name}: {e}");
            }
        }
    }

    #[test]
    fn data_source_types_are_known_and_wrapped_for_external_data() {
        let ctx = BuildContext {
            data_shapes: HashMap::from([("t".to_string(), vec![2, 3])]),
            external_data: true,
            ..BuildContext::default()
        };
        for name in DATA_SOURCE_TYPES {
            assert!(KNOWN_TYPES.contains(name), "{name}");
            let extra = REQUIRED
                .iter()
                .find(|(t, _)| t == name)
                .map_or("", |(_, text)| text);
            let param = layer_param(&format!("type: \"{name}\" top: \"t\" {extra}"));
            let layer = create(&param, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(layer.is_source(), "{name}");
        }
    }

    #[test]
    fn unknown_types_get_the_nearest_known_one() {
        let ctx = BuildContext::default();
        let err = |text: &str| create(&layer_param(text), &ctx).err().unwrap();
        assert_eq!(
            err("type: \"Convolutoin\""),
            "unknown layer type `Convolutoin` — did you mean `Convolution`?"
        );
        assert_eq!(err("type: \"Nonesuch\""), "unknown layer type `Nonesuch`");
        assert_eq!(err("name: \"x\""), "has no `type`");
    }
}
