//! One candle forward per layer type (or small family), built only from candle
//! tensor ops that candle also implements on CUDA: no host copies, no native
//! kernels. Backward is candle's autograd through these ops.

pub mod accuracy;
pub mod batch_norm;
pub mod convolution;
pub mod eltwise;
pub mod inner_product;
pub mod lookup;
pub mod losses;
pub mod lrn;
pub mod median;
pub mod mvn;
pub mod neurons;
pub mod pooling;
pub mod scale_bias;
pub mod shapes;
pub mod softmax;

use candle_core::{Device, Result, Tensor};

use crate::proto::{LayerParameter, Phase};
use crate::rng::Rng;
use crate::shape::Shape;

/// What an op may use besides its bottoms and parameters.
pub struct OpContext<'a> {
    pub phase: Phase,
    pub device: &'a Device,
    /// The tops' shapes, as the graph fixed them when the net was built.
    pub top_shapes: &'a [Shape],
    /// The net's generator (dropout masks).
    pub rng: &'a mut Rng,
    /// New values for this layer's parameter blobs that forward computes
    /// (BatchNorm's running statistics), by parameter index.
    pub param_updates: Vec<(usize, Tensor)>,
    /// Tensors an op derives once from its configuration and shapes (pooling's
    /// window indexes), kept by the net between passes; empty on the first.
    pub constants: &'a mut Vec<Tensor>,
}

/// A layer's forward on candle tensors: bottoms and parameters in, tops out.
pub type Op = fn(&LayerParameter, &[Tensor], &[Tensor], &mut OpContext) -> Result<Vec<Tensor>>;

/// A new graph node with the same values and no copy, for layers whose top
/// equals their bottom: each blob then has its own gradient entry.
pub(crate) fn alias(x: &Tensor) -> Result<Tensor> {
    x.reshape(x.shape())
}

/// Caffe's axis rule (negative counts from the end), as a candle error.
pub(crate) fn axis(axis: i32, rank: usize) -> Result<usize> {
    crate::shape::canonical_axis(axis, rank).map_err(candle_core::Error::Msg)
}

/// (outer, channels, inner) of `shape` split around `axis`.
pub(crate) fn split3(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}
