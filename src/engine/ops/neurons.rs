//! Elementwise layers: ReLU (leaky), PReLU, ELU, Sigmoid, TanH, AbsVal, BNLL,
//! Power, Exp, Log, Threshold, Clip, Swish and Dropout. Each is one expression in
//! candle ops; where Caffe's gradient rule picks a branch (ReLU, PReLU) the
//! expression is a `where_cond` so autograd takes the same branch.

use candle_core::{Result, Tensor};

use super::OpContext;
use crate::proto::{LayerParameter, Phase};

/// `x > 0 ? x : slope·x`, with the gradient of the branch taken.
fn leaky(x: &Tensor, negative: &Tensor) -> Result<Tensor> {
    x.gt(0f64)?.where_cond(x, negative)
}

pub fn relu(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let slope = p.relu_param().negative_slope() as f64;
    Ok(vec![leaky(x, &x.affine(slope, 0.0)?)?])
}

/// Slopes per channel (axis 1), or one shared slope.
pub fn prelu(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let dims = x.dims();
    let a = if p.prelu_param().channel_shared() || dims.len() < 2 {
        params[0].reshape(())?.broadcast_as(dims)?
    } else {
        let mut shape = vec![1usize; dims.len()];
        shape[1] = dims[1];
        params[0].reshape(shape)?.broadcast_as(dims)?
    };
    Ok(vec![leaky(x, &x.mul(&a)?)?])
}

pub fn elu(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(vec![b[0].elu(p.elu_param().alpha() as f64)?])
}

pub fn sigmoid(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(vec![candle_nn::ops::sigmoid(&b[0])?])
}

pub fn tanh(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(vec![b[0].tanh()?])
}

pub fn absval(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    Ok(vec![b[0].abs()?])
}

/// log(1 + eˣ) as max(x, 0) + log(1 + e^−|x|), which never overflows; its
/// gradient is the sigmoid, as Caffe's.
pub fn bnll(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok(vec![(x.relu()? + tail)?])
}

/// (shift + scale·x)^power.
pub fn power(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.power_param();
    let base = b[0].affine(q.scale() as f64, q.shift() as f64)?;
    let y = match q.power() {
        1.0 => base,
        // Caffe's constant 1 (and its zero gradient).
        0.0 => base.affine(0.0, 1.0)?,
        2.0 => base.sqr()?,
        e => base.powf(e as f64)?,
    };
    Ok(vec![y])
}

/// The natural log of Exp's and Log's base (−1 means e).
fn ln_base(base: f32) -> f64 {
    if base == -1.0 {
        1.0
    } else {
        (base as f64).ln()
    }
}

/// base^(shift + scale·x).
pub fn exp(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.exp_param();
    let l = ln_base(q.base());
    Ok(vec![b[0]
        .affine(l * q.scale() as f64, l * q.shift() as f64)?
        .exp()?])
}

/// log_base(shift + scale·x).
pub fn log(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.log_param();
    let l = ln_base(q.base());
    Ok(vec![b[0]
        .affine(q.scale() as f64, q.shift() as f64)?
        .log()?
        .affine(1.0 / l, 0.0)?])
}

/// 1 where x > threshold, else 0; no gradient (Caffe has none).
pub fn threshold(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let t = p.threshold_param().threshold() as f64;
    Ok(vec![b[0].gt(t)?.to_dtype(b[0].dtype())?.detach()])
}

pub fn clip(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.clip_param();
    Ok(vec![b[0].clamp(q.min(), q.max())?])
}

/// x · sigmoid(β·x).
pub fn swish(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let beta = p.swish_param().beta() as f64;
    let x = &b[0];
    Ok(vec![
        x.mul(&candle_nn::ops::sigmoid(&x.affine(beta, 0.0)?)?)?
    ])
}

/// TEST: the identity. TRAIN: Caffe's mask (keep with 1 − ratio, scaled by
/// 1/(1 − ratio)) drawn from the net's generator on the host, as the native layer
/// draws it, and uploaded once per pass.
pub fn dropout(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    if ctx.phase == Phase::Test {
        return Ok(vec![x.clone()]);
    }
    let ratio = p.dropout_param().dropout_ratio();
    let scale = (1.0 / (1.0 - ratio as f64)) as f32;
    let keep = 1.0 - ratio as f64;
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if ctx.rng.bernoulli(keep) { scale } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(mask, x.dims(), ctx.device)?;
    Ok(vec![x.mul(&mask)?])
}
