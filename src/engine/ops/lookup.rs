//! Layers that select rows by integer indexes given as floats: Embed (rows of
//! its weight, plus the bias) and BatchReindex (items of the batch). Gradients
//! reach the selected rows through index_select's backward (an index_add).

use candle_core::{DType, Result, Tensor};

use super::OpContext;
use crate::proto::LayerParameter;

pub fn embed(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let index = b[0].detach().flatten_all()?.to_dtype(DType::U32)?;
    let mut y = params[0].index_select(&index, 0)?;
    if p.embed_param().bias_term() {
        y = y.broadcast_add(&params[1].reshape((1, y.dim(1)?))?)?;
    }
    Ok(vec![y.reshape(ctx.top_shapes[0].as_slice())?])
}

pub fn batch_reindex(
    _: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let index = b[1].detach().flatten_all()?.to_dtype(DType::U32)?;
    Ok(vec![b[0].index_select(&index, 0)?])
}
