//! Softmax over Caffe's axis: candle-nn's max-subtracted softmax.

use candle_core::{Result, Tensor};

use super::{axis, split3, OpContext};
use crate::proto::LayerParameter;

/// The softmax of `x` over `axis`, as (outer, channels, inner).
pub(crate) fn softmax3(x: &Tensor, axis: usize) -> Result<Tensor> {
    let (o, c, i) = split3(x.dims(), axis);
    candle_nn::ops::softmax(&x.reshape((o, c, i))?, 1)
}

pub fn softmax(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let a = axis(p.softmax_param().axis(), x.rank())?;
    Ok(vec![softmax3(x, a)?.reshape(x.shape())?])
}
