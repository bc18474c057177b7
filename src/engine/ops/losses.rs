//! Loss layers: SoftmaxWithLoss (ignore_label, Caffe's normalization modes),
//! EuclideanLoss, SigmoidCrossEntropyLoss and HingeLoss. Each returns the loss as
//! the top's shape (a scalar); the net weights it.

use candle_core::{DType, Result, Tensor};

use super::softmax::softmax3;
use super::{axis, split3, OpContext};
use crate::layers::loss_norm::normalization_mode;
use crate::proto::{HingeNorm, LayerParameter, NormalizationMode};

/// What the summed loss is divided by (Caffe's get_normalizer, at least 1); `valid`
/// counts the positions without the ignore label.
fn normalizer(
    mode: NormalizationMode,
    outer: usize,
    inner: usize,
    valid: &Tensor,
) -> Result<Tensor> {
    let fixed = |n: usize| Tensor::new(n.max(1) as f32, valid.device());
    match mode {
        NormalizationMode::Full => fixed(outer * inner),
        NormalizationMode::Valid => valid.maximum(1f32),
        NormalizationMode::BatchSize => fixed(outer),
        NormalizationMode::None => fixed(1),
    }
}

/// 1 where a label is not `ignore`, as f32 (all ones without an ignore label).
fn kept(labels: &Tensor, ignore: Option<i32>) -> Result<Tensor> {
    match ignore {
        Some(l) => labels.ne(l as f64)?.to_dtype(DType::F32),
        None => labels.ones_like(),
    }
}

pub fn softmax_loss(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let a = axis(p.softmax_param().axis(), x.rank())?;
    let (o, _, i) = split3(x.dims(), a);
    let prob = softmax3(x, a)?;
    let labels = b[1].reshape((o, 1, i))?.detach();
    let ignore = p.loss_param().ignore_label;
    let mask = kept(&labels, ignore)?;
    // Ignored positions read class 0 and are masked out.
    let index = labels.mul(&mask)?.to_dtype(DType::U32)?;
    let log_p = prob.gather(&index, 1)?.maximum(f32::MIN_POSITIVE)?.log()?;
    let total = log_p.mul(&mask)?.sum_all()?.neg()?;
    let mode = normalization_mode(p, NormalizationMode::Valid);
    let loss = total.div(&normalizer(mode, o, i, &mask.sum_all()?)?)?;
    let mut tops = vec![loss.reshape(ctx.top_shapes[0].as_slice())?];
    if ctx.top_shapes.len() > 1 {
        tops.push(prob.reshape(x.shape())?.detach());
    }
    Ok(tops)
}

/// Σ (a − b)² / (2·N).
pub fn euclidean_loss(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let n = b[0].dims().first().copied().unwrap_or(1).max(1);
    let d = b[0].sub(&b[1].reshape(b[0].shape())?)?;
    let loss = d.sqr()?.sum_all()?.affine(0.5 / n as f64, 0.0)?;
    Ok(vec![loss.reshape(ctx.top_shapes[0].as_slice())?])
}

/// Σ over positions of max(x, 0) − x·t + log(1 + e^−|x|), normalised (BATCH_SIZE by
/// default); targets get no gradient, as in Caffe.
pub fn sigmoid_ce_loss(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let t = b[1].reshape(x.shape())?.detach();
    let mask = kept(&t, p.loss_param().ignore_label)?;
    let soft = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    let each = ((x.relu()? - x.mul(&t)?)? + soft)?;
    let total = each.mul(&mask)?.sum_all()?;
    let outer = x.dims().first().copied().unwrap_or(1);
    let inner = x.elem_count() / outer.max(1);
    let mode = normalization_mode(p, NormalizationMode::BatchSize);
    let loss = total.div(&normalizer(mode, outer, inner, &mask.sum_all()?)?)?;
    Ok(vec![loss.reshape(ctx.top_shapes[0].as_slice())?])
}

/// Σ max(0, 1 − δ·x) (L1) or its square (L2) over samples and classes, δ = +1 for
/// the label's class and −1 otherwise, divided by the batch size.
pub fn hinge_loss(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let n = x.dim(0)?;
    let k = x.elem_count() / n.max(1);
    let x = x.reshape((n, k))?;
    let classes = Tensor::arange(0u32, k as u32, x.device())?.reshape((1, k))?;
    let labels = b[1].reshape((n, 1))?.detach().to_dtype(DType::U32)?;
    let sign = classes
        .broadcast_eq(&labels)?
        .to_dtype(DType::F32)?
        .affine(-2.0, 1.0)?;
    let margin = (x.mul(&sign)? + 1.0)?.relu()?;
    let total = match p.hinge_loss_param().norm() {
        HingeNorm::L2 => margin.sqr()?.sum_all()?,
        _ => margin.sum_all()?,
    };
    let loss = total.affine(1.0 / n.max(1) as f64, 0.0)?;
    Ok(vec![loss.reshape(ctx.top_shapes[0].as_slice())?])
}

/// −Σ log(max(p_label, 1e−20)) / N over probabilities given as the first bottom.
pub fn multinomial_logistic_loss(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let p = &b[0];
    let n = p.dim(0)?;
    let p = p.reshape((n, p.elem_count() / n.max(1)))?;
    let labels = b[1].reshape((n, 1))?.detach().to_dtype(DType::U32)?;
    let picked = p.gather(&labels, 1)?.maximum(1e-20f32)?.log()?;
    let loss = picked.sum_all()?.affine(-1.0 / n.max(1) as f64, 0.0)?;
    Ok(vec![loss.reshape(ctx.top_shapes[0].as_slice())?])
}
