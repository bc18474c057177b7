//! Layers that move values without arithmetic (or only sum them): Flatten,
//! Reshape, Split, Concat, Slice, Crop, Tile and Reduction. Sizes come from the
//! tops' shapes the graph fixed, so Caffe's shape rules live in one place.

use candle_core::{Result, Tensor};

use super::{alias, axis, OpContext};
use crate::proto::{LayerParameter, ReductionOp};

/// Flatten and Reshape: the same values in the top's shape.
pub fn reshape(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(vec![b[0].reshape(ctx.top_shapes[0].as_slice())?])
}

/// Split: every top is the bottom (its own graph node, so gradients sum).
pub fn split(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    ctx.top_shapes.iter().map(|_| alias(&b[0])).collect()
}

/// The axis Concat and Slice work on: `axis`, or the legacy `*_dim` when only it
/// is given.
fn legacy_axis(a: Option<i32>, dim: Option<u32>, default: i32, rank: usize) -> Result<usize> {
    match (a, dim) {
        (None, Some(d)) => Ok(d as usize),
        (a, _) => axis(a.unwrap_or(default), rank),
    }
}

pub fn concat(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.concat_param();
    let a = legacy_axis(q.axis, q.concat_dim, 1, b[0].rank())?;
    Ok(vec![Tensor::cat(b, a)?])
}

pub fn slice(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.slice_param();
    let a = legacy_axis(q.axis, q.slice_dim, 1, b[0].rank())?;
    let mut start = 0;
    let mut tops = Vec::with_capacity(ctx.top_shapes.len());
    for shape in ctx.top_shapes {
        tops.push(b[0].narrow(a, start, shape[a])?);
        start += shape[a];
    }
    Ok(tops)
}

/// Crop: `bottom[0]` cut to `bottom[1]`'s shape from `axis` on, at the offsets.
pub fn crop(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.crop_param();
    let x = &b[0];
    let start = axis(q.axis(), x.rank())?;
    let top = &ctx.top_shapes[0];
    let mut y = x.clone();
    for (i, &len) in top.iter().enumerate().skip(start) {
        let offset = match q.offset.len() {
            0 => 0,
            1 => q.offset[0] as usize,
            _ => q.offset[i - start] as usize,
        };
        if len != x.dim(i)? {
            y = y.narrow(i, offset, len)?;
        }
    }
    Ok(vec![y])
}

/// Tile: the axes from `axis` on repeated `tiles` times.
pub fn tile(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.tile_param();
    let x = &b[0];
    let a = axis(q.axis(), x.rank())?;
    let outer: usize = x.dims()[..a].iter().product();
    let inner: usize = x.dims()[a..].iter().product();
    let tiles = q.tiles().max(0) as usize;
    let y = x.reshape((outer, 1, inner))?.repeat((1, tiles, 1))?;
    Ok(vec![y.reshape(ctx.top_shapes[0].as_slice())?])
}

/// Reduction: SUM, ASUM, SUMSQ or MEAN over the axes from `axis` on, times `coeff`.
pub fn reduction(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.reduction_param();
    let x = &b[0];
    let a = axis(q.axis(), x.rank())?;
    let outer: usize = x.dims()[..a].iter().product();
    let inner: usize = x.dims()[a..].iter().product();
    let rows = x.reshape((outer, inner))?;
    let coeff = q.coeff() as f64;
    let y = match q.operation() {
        ReductionOp::Sum => rows.sum(1)?.affine(coeff, 0.0)?,
        ReductionOp::Asum => rows.abs()?.sum(1)?.affine(coeff, 0.0)?,
        ReductionOp::Sumsq => rows.sqr()?.sum(1)?.affine(coeff, 0.0)?,
        ReductionOp::Mean => rows.sum(1)?.affine(coeff / inner.max(1) as f64, 0.0)?,
    };
    Ok(vec![y.reshape(ctx.top_shapes[0].as_slice())?])
}

/// Silence: consumes its bottoms, produces nothing.
pub fn silence(
    _: &LayerParameter,
    _: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(Vec::new())
}

/// Parameter: its one blob as the top (gradients flow into it).
pub fn parameter(
    _: &LayerParameter,
    _: &[Tensor],
    params: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(vec![alias(&params[0])?])
}
