//! Loss: the [`Layer`] preamble every loss layer shares (Caffe's LossLayer), around
//! a [`LossFunction`] that holds only the math, as [`super::neuron::Neuron`] does
//! for activations: the blob counts, the first-axis check of the bottoms, the
//! scalar first top (and the optional second, shaped as the first bottom), the loss
//! weight read back for backward, and `is_loss`.

use super::loss_norm::{check_same_num, loss_weight};
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

/// The math of one loss layer.
pub trait LossFunction: Send {
    /// How many bottoms it takes (inclusive bounds).
    const BOTTOMS: (usize, usize) = (2, 2);
    /// Whether a second top may show the intermediate output (probabilities); it is
    /// shaped as the first bottom and written by `forward`.
    const SECOND_TOP: bool = false;

    /// Validates the bottoms beyond the shared first-axis check and sizes the state.
    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String>;

    /// The loss (the first top's value); writes the second top when there is one.
    fn forward(&mut self, bottoms: &[&Blob], tops: &mut [Blob]) -> Result<f32, String>;

    /// Writes the diff of each bottom whose `propagate_down` is true, for the loss
    /// weight `weight` of the first top.
    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String>;

    /// Whether `force_backward` may ask for this bottom's gradient: not the labels,
    /// which are the second bottom unless a loss says otherwise.
    fn allow_force_backward(&self, bottom: usize) -> bool {
        bottom != 1
    }
}

pub struct Loss<F> {
    function: F,
    /// How many tops the layer has: 1, or 2 for a loss with a second top.
    tops: usize,
}

impl<F: LossFunction> Loss<F> {
    pub fn new(param: &LayerParameter, function: F) -> Self {
        Loss {
            function,
            tops: param.top.len().clamp(1, Self::MAX_TOPS),
        }
    }

    const MAX_TOPS: usize = if F::SECOND_TOP { 2 } else { 1 };
}

impl<F: LossFunction> Layer for Loss<F> {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range(F::BOTTOMS, (1, Self::MAX_TOPS))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        check_same_num(bottoms)?;
        self.function.reshape(bottoms)?;
        let mut shapes = vec![vec![], bottoms[0].clone()];
        shapes.truncate(self.tops);
        Ok(shapes)
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        tops[0].data[0] = self.function.forward(bottoms, tops)?;
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        self.function
            .backward(loss_weight(tops[0]), propagate_down, bottoms)
    }

    fn allow_force_backward(&self, bottom: usize) -> bool {
        self.function.allow_force_backward(bottom)
    }

    fn is_loss(&self) -> bool {
        true
    }
}
