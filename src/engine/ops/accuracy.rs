//! Accuracy and ArgMax: no gradient (Caffe has none), so their tops are
//! detached.

use candle_core::{DType, Result, Tensor};

use super::{axis, split3, OpContext};
use crate::proto::LayerParameter;

/// Caffe's rule: a position is right when fewer than `top_k` other classes score
/// at least the label's score; the mean over positions without the ignore label.
pub fn accuracy(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.accuracy_param();
    if ctx.top_shapes.len() > 1 {
        candle_core::bail!("the candle engine has no per-class Accuracy top yet")
    }
    let x = b[0].detach();
    let a = axis(q.axis(), x.rank())?;
    let (o, c, i) = split3(x.dims(), a);
    let x = x.reshape((o, c, i))?;
    let labels = b[1].detach().reshape((o, 1, i))?;
    let kept = match q.ignore_label {
        Some(l) => labels.ne(l as f64)?.to_dtype(DType::F32)?,
        None => labels.ones_like()?,
    };
    let index = labels.mul(&kept)?.to_dtype(DType::U32)?;
    let label_score = x.gather(&index, 1)?;
    let at_least = x
        .broadcast_ge(&label_score)?
        .to_dtype(DType::F32)?
        .sum_keepdim(1)?;
    let right = at_least
        .le(q.top_k() as f64)?
        .to_dtype(DType::F32)?
        .mul(&kept)?;
    let accuracy = right.sum_all()?.div(&kept.sum_all()?.maximum(1f32)?)?;
    Ok(vec![accuracy.reshape(ctx.top_shapes[0].as_slice())?])
}

/// The `top_k` largest classes per position (their indexes, or with
/// `out_max_val` the values too / alone along an axis), by repeated argmax.
pub fn argmax(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.argmax_param();
    let x = b[0].detach();
    let (x, a) = match q.axis {
        Some(ax) => {
            let a = axis(ax, x.rank())?;
            let (o, c, i) = split3(x.dims(), a);
            (x.reshape((o, c, i))?, Some(()))
        }
        None => {
            let n = x.dims().first().copied().unwrap_or(1);
            (x.reshape((n, x.elem_count() / n.max(1), 1))?, None)
        }
    };
    let c = x.dim(1)?;
    let classes = Tensor::arange(0u32, c as u32, x.device())?.reshape((1, c, 1))?;
    let mut rest = x.clone();
    let (mut indexes, mut values) = (Vec::new(), Vec::new());
    for _ in 0..q.top_k() {
        let best = rest.argmax_keepdim(1)?;
        values.push(rest.gather(&best, 1)?);
        indexes.push(best.to_dtype(DType::F32)?);
        let taken = classes.broadcast_eq(&best)?;
        rest = taken.where_cond(
            &Tensor::full(f32::NEG_INFINITY, rest.shape(), x.device())?,
            &rest,
        )?;
    }
    let indexes = Tensor::cat(&indexes, 1)?;
    let values = Tensor::cat(&values, 1)?;
    let y = match (a, q.out_max_val()) {
        (Some(()), true) => values,
        (Some(()), false) => indexes,
        // Caffe's layout without an axis: (N, 2, K) of index then value rows.
        (None, true) => Tensor::stack(&[indexes.squeeze(2)?, values.squeeze(2)?], 1)?,
        (None, false) => indexes,
    };
    Ok(vec![y.reshape(ctx.top_shapes[0].as_slice())?.detach()])
}
