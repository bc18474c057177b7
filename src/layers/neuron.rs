//! What the element-wise (neuron) layers share: one bottom, one top of the same
//! shape, and a function applied value by value (Caffe's NeuronLayer). Each layer
//! type lives in its own file and implements [`Elementwise`]; [`Neuron`] turns it
//! into a [`Layer`].

use rayon::prelude::*;

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::kernels::parallel::task_len;
use crate::shape::Shape;

/// An element-wise function and its derivative, over whole slices so that each
/// type writes one tight loop.
pub trait Elementwise: Send + Sync {
    /// y = f(x), for slices of equal length.
    fn forward(&self, x: &[f32], y: &mut [f32]);

    /// dx = dy · f'(x); `y` is the forward output for `x`.
    fn backward(&self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String>;

    /// False for functions without a gradient (Threshold): `force_backward` then
    /// does not ask for one.
    fn has_gradient(&self) -> bool {
        true
    }
}

/// A neuron layer: one bottom, one top of the same shape, `F` applied element-wise.
pub struct Neuron<F: Elementwise>(pub F);

impl<F: Elementwise> Layer for Neuron<F> {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(vec![bottoms[0].clone()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        check_same_count(bottoms[0], &tops[0])?;
        let (x, y) = (&bottoms[0].data, &mut tops[0].data);
        let task = task_len(x.len(), 1);
        y.par_chunks_mut(task)
            .zip(x.par_chunks(task))
            .for_each(|(y, x)| self.0.forward(x, y));
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let top = tops[0];
        let bottom = &mut bottoms[0];
        check_same_count(bottom, top)?;
        let task = task_len(top.count(), 1);
        bottom
            .diff
            .par_chunks_mut(task)
            .zip(bottom.data.par_chunks(task))
            .zip(top.data.par_chunks(task))
            .zip(top.diff.par_chunks(task))
            .try_for_each(|(((dx, x), y), dy)| self.0.backward(x, y, dy, dx))
    }

    fn allow_force_backward(&self, _bottom: usize) -> bool {
        self.0.has_gradient()
    }
}

/// Errs unless a bottom and a top hold the same number of values (a net that
/// reshaped one without the other).
pub fn check_same_count(bottom: &Blob, top: &Blob) -> Result<(), String> {
    if bottom.count() != top.count() {
        return Err(format!(
            "bottom has {} values but top has {}; the layer was not reshaped",
            bottom.count(),
            top.count()
        ));
    }
    Ok(())
}

/// Caffe's sigmoid, 0.5·tanh(0.5·x) + 0.5, evaluated in double as Caffe's
/// (double-literal) expression is.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    (0.5 * (0.5 * x as f64).tanh() + 0.5) as f32
}
