//! Eltwise: SUM (with coefficients), PROD and MAX of the bottoms.

use candle_core::{Result, Tensor};

use super::OpContext;
use crate::proto::{EltwiseOp, LayerParameter};

pub fn eltwise(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.eltwise_param();
    let coeff = |i: usize| q.coeff.get(i).copied().unwrap_or(1.0) as f64;
    let mut y = match q.operation() {
        EltwiseOp::Sum => b[0].affine(coeff(0), 0.0)?,
        _ => b[0].clone(),
    };
    for (i, x) in b.iter().enumerate().skip(1) {
        y = match q.operation() {
            EltwiseOp::Sum => y.add(&x.affine(coeff(i), 0.0)?)?,
            EltwiseOp::Prod => y.mul(x)?,
            EltwiseOp::Max => {
                // Ties keep the earlier bottom, as Caffe's mask does.
                x.gt(&y)?.where_cond(x, &y)?
            }
        };
    }
    Ok(vec![y])
}
