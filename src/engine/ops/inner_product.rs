//! InnerProduct: the axes from `axis` on flattened into K, one matmul with the
//! weight (N×K, or K×N with `transpose`), plus the bias.

use candle_core::{Result, Tensor};

use super::{axis, OpContext};
use crate::proto::LayerParameter;

pub fn inner_product(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.inner_product_param();
    let x = &b[0];
    let a = axis(q.axis(), x.rank())?;
    let m: usize = x.dims()[..a].iter().product();
    let k: usize = x.dims()[a..].iter().product();
    let x = x.reshape((m, k))?;
    let w = &params[0];
    let y = if q.transpose() {
        x.matmul(w)?
    } else {
        x.matmul(&w.t()?)?
    };
    let y = if q.bias_term() {
        y.broadcast_add(&params[1].reshape((1, y.dim(1)?))?)?
    } else {
        y
    };
    Ok(vec![y.reshape(ctx.top_shapes[0].as_slice())?])
}
