//! BatchNorm (statistics only). Global statistics: the stored sums divided by the
//! stored scale factor (0 when it is 0). Batch statistics (TRAIN unless
//! `use_global_stats`): mean and biased variance over N and the spatial axes,
//! and the running sums updated as Caffe's layer updates them.

use candle_core::{Result, Tensor};

use super::OpContext;
use crate::proto::{LayerParameter, Phase};

pub fn batch_norm(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.batch_norm_param();
    let x = &b[0];
    let n = x.dim(0)?;
    let c = if x.rank() > 1 { x.dim(1)? } else { 1 };
    let s = x.elem_count() / (n * c).max(1);
    let x3 = x.reshape((n, c, s))?;
    let eps = q.eps() as f64;
    let global = q.use_global_stats.unwrap_or(ctx.phase == Phase::Test);
    let (centred, var) = if global {
        let stored = params[2].reshape(())?.detach();
        let factor = stored
            .eq(0f64)?
            .where_cond(&stored.zeros_like()?, &stored.recip()?)?;
        let mean = params[0]
            .detach()
            .broadcast_mul(&factor)?
            .reshape((1, c, 1))?;
        let var = params[1]
            .detach()
            .broadcast_mul(&factor)?
            .reshape((1, c, 1))?;
        (x3.broadcast_sub(&mean)?, var)
    } else {
        let m = (n * s) as f64;
        let mean = x3.sum_keepdim(2)?.sum_keepdim(0)?.affine(1.0 / m, 0.0)?;
        let centred = x3.broadcast_sub(&mean)?;
        let var = centred
            .sqr()?
            .sum_keepdim(2)?
            .sum_keepdim(0)?
            .affine(1.0 / m, 0.0)?;
        let maf = q.moving_average_fraction() as f64;
        let correction = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
        let batch_mean = mean.detach().reshape(params[0].shape())?;
        let batch_var = var.detach().reshape(params[1].shape())?;
        let p0 = params[0].detach().affine(maf, 0.0)?.add(&batch_mean)?;
        let p1 = params[1]
            .detach()
            .affine(maf, 0.0)?
            .add(&batch_var.affine(correction, 0.0)?)?;
        let p2 = params[2].detach().affine(maf, 1.0)?;
        ctx.param_updates.extend([(0, p0), (1, p1), (2, p2)]);
        (centred, var)
    };
    let y = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
    Ok(vec![y.reshape(x.shape())?])
}
