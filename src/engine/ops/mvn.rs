//! MVN: per sample (and channel, unless `across_channels`) subtract the mean and,
//! with `normalize_variance`, divide by √variance + ε, as Caffe does.

use candle_core::{Result, Tensor};

use super::OpContext;
use crate::proto::LayerParameter;

pub fn mvn(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.mvn_param();
    let x = &b[0];
    let n = x.dim(0)?;
    let groups = if q.across_channels() {
        n
    } else {
        n * x.dim(1)?
    };
    let rows = x.reshape((groups, x.elem_count() / groups))?;
    let per = rows.dim(1)? as f64;
    let centred = rows.broadcast_sub(&rows.sum_keepdim(1)?.affine(1.0 / per, 0.0)?)?;
    let y = if q.normalize_variance() {
        let var = centred.sqr()?.sum_keepdim(1)?.affine(1.0 / per, 0.0)?;
        centred.broadcast_div(&(var.sqrt()? + q.eps() as f64)?)?
    } else {
        centred
    };
    Ok(vec![y.reshape(x.shape())?])
}
