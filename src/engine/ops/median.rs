//! The Median layer (`src/layers/median.rs`) as gathers, like pooling: each
//! plane gets a +∞ sentinel that every out-of-image window position points at,
//! each output's window is sorted (candle's arg_sort, which has a CUDA kernel),
//! and the value at rank (count − 1) / 2 is gathered, count being the window's
//! in-bounds values: the lower middle, padding adding nothing. Backward is the
//! gathers' scatter, so each gradient goes to the chosen element. Equal values
//! give the same median; which of the equal elements gets the gradient is the
//! sort's choice (the native layer takes the first in row-major order).

use candle_core::{Result, Tensor};

use super::pooling::windows;
use super::OpContext;
use crate::proto::LayerParameter;

/// (kernel, stride, pad) per axis from median_param (validated when the native
/// layer was built).
fn geometry(p: &LayerParameter) -> ((usize, usize, usize), (usize, usize, usize)) {
    let q = p.median_param();
    let two = |h: Option<u32>, w: Option<u32>, one: Option<u32>, default: u32| match (h, w) {
        (Some(a), Some(b)) => [a as usize, b as usize],
        _ => {
            let v = one.unwrap_or(default) as usize;
            [v, v]
        }
    };
    let kernel = two(q.kernel_h, q.kernel_w, q.kernel_size, 0);
    let stride = two(q.stride_h, q.stride_w, q.stride, 1);
    let pad = two(q.pad_h, q.pad_w, q.pad, 0);
    (
        (kernel[0], stride[0], pad[0]),
        (kernel[1], stride[1], pad[1]),
    )
}

pub fn median(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let (n, c, h, w) = x.dims4()?;
    let (out_h, out_w) = (ctx.top_shapes[0][2], ctx.top_shapes[0][3]);
    let outputs = out_h * out_w;
    let (y_axis, x_axis) = geometry(p);
    let taps = y_axis.0 * x_axis.0;
    if ctx.constants.is_empty() {
        let (index, _) = windows(y_axis, x_axis, (h, w), (out_h, out_w));
        let sentinel = (h * w) as u32;
        let rank: Vec<u32> = index
            .chunks(taps)
            .map(|window| {
                let count = window.iter().filter(|&&i| i != sentinel).count() as u32;
                (count.max(1) - 1) / 2
            })
            .collect();
        ctx.constants
            .push(Tensor::new(index.as_slice(), ctx.device)?);
        ctx.constants
            .push(Tensor::from_vec(rank, (1, 1, outputs, 1), ctx.device)?);
    }
    let (index, rank) = (&ctx.constants[0], &ctx.constants[1]);
    let planes = x.reshape((n, c, h * w))?;
    let pad = Tensor::full(f32::INFINITY, (n, c, 1), ctx.device)?;
    let values = Tensor::cat(&[&planes, &pad], 2)?
        .index_select(index, 2)?
        .reshape((n, c, outputs, taps))?;
    let order = values.detach().arg_sort_last_dim(true)?;
    let rank = rank.broadcast_as((n, c, outputs, 1))?.contiguous()?;
    let chosen = order.gather(&rank, 3)?;
    Ok(vec![values
        .gather(&chosen, 3)?
        .reshape((n, c, out_h, out_w))?])
}
