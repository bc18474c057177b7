//! Scale and Bias: a factor (or offset) shaped as the bottom's axes from `axis`
//! on — from the second bottom or the layer's parameter — broadcast over the rest.

use candle_core::{Result, Tensor};

use super::{axis, OpContext};
use crate::proto::LayerParameter;

/// `v` reshaped to broadcast against `x` with its dims starting at `axis`.
fn along(x: &Tensor, v: &Tensor, a: i32) -> Result<Tensor> {
    let rank = x.rank();
    // A scalar factor broadcasts everywhere, whatever the axis.
    if v.elem_count() == 1 {
        return v.reshape(vec![1usize; rank])?.broadcast_as(x.shape());
    }
    let a = axis(a, rank)?;
    let mut shape = vec![1usize; rank];
    let dims = x.dims();
    let mut left = v.elem_count();
    let mut i = a;
    // The factor covers consecutive axes from `a` whose sizes multiply to its count.
    while left > 1 && i < rank {
        shape[i] = dims[i];
        left /= dims[i];
        i += 1;
    }
    v.reshape(shape)?.broadcast_as(x.shape())
}

pub fn scale(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.scale_param();
    let x = &b[0];
    let (factor, rest) = if b.len() > 1 {
        (&b[1], params)
    } else {
        (&params[0], &params[1..])
    };
    let mut y = x.mul(&along(x, factor, q.axis())?)?;
    if q.bias_term() {
        y = y.add(&along(x, &rest[0], q.axis())?)?;
    }
    Ok(vec![y])
}

pub fn bias(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let offset = if b.len() > 1 { &b[1] } else { &params[0] };
    Ok(vec![x.add(&along(x, offset, p.bias_param().axis())?)?])
}
