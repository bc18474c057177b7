//! Convolution and Deconvolution on candle's conv2d / conv_transpose2d, with
//! Caffe's geometry (`ConvGeometry`, the native layer's own resolver): groups by
//! channel chunks, per-axis padding by explicit zero padding, per-axis strides by
//! a stride-1 pass then row/column selection. Every step has a candle gradient.

use candle_core::{Result, Tensor};

use super::OpContext;
use crate::layers::convolution::ConvGeometry;
use crate::proto::LayerParameter;

fn geometry(p: &LayerParameter) -> Result<ConvGeometry> {
    ConvGeometry::from_param(&p.convolution_param(), 2).map_err(candle_core::Error::Msg)
}

fn four_d(x: &Tensor, what: &str) -> Result<()> {
    if x.rank() != 4 {
        candle_core::bail!(
            "the candle engine runs 2-D {what} only (N, C, H, W), not shape {:?}",
            x.dims()
        )
    }
    Ok(())
}

/// One value for both axes, or None when they differ.
fn same(v: &[usize]) -> Option<usize> {
    (v[0] == v[1]).then_some(v[0])
}

/// Keeps every `stride`-th index of `dim` from 0, `out` of them.
fn every(x: &Tensor, dim: usize, stride: usize, out: usize) -> Result<Tensor> {
    if stride == 1 {
        return x.narrow(dim, 0, out);
    }
    let idx: Vec<u32> = (0..out).map(|i| (i * stride) as u32).collect();
    x.index_select(&Tensor::new(idx.as_slice(), x.device())?, dim)
}

/// Adds a per-channel bias (axis 1).
fn add_bias(y: Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    match bias {
        None => Ok(y),
        Some(b) => {
            let c = y.dim(1)?;
            y.broadcast_add(&b.reshape((1, c, 1, 1))?)
        }
    }
}

pub fn convolution(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    four_d(x, "convolution")?;
    let g = geometry(p)?;
    let groups = p.convolution_param().group() as usize;
    let dilation = same(&g.dilation).ok_or_else(|| {
        candle_core::Error::Msg("the candle engine needs equal dilation on both axes".into())
    })?;
    let out = &ctx.top_shapes[0];
    let (out_h, out_w) = (out[2], out[3]);
    let (pad, x) = match same(&g.pad) {
        Some(pad) => (pad, x.clone()),
        None => (
            0,
            x.pad_with_zeros(2, g.pad[0], g.pad[0])?
                .pad_with_zeros(3, g.pad[1], g.pad[1])?,
        ),
    };
    // Unequal strides: candle runs stride 1 and the rows/columns are picked after.
    let stride = same(&g.stride).unwrap_or(1);
    // Caffe drops input rows and columns no window reaches; cutting them first
    // keeps candle's backward shapes exact.
    let mut x = x;
    for (axis, out) in [(0, out_h), (1, out_w)] {
        let needed = if stride == 1 {
            (out - 1) * g.stride[axis] + 1
        } else {
            out
        };
        let used = (needed - 1) * stride + dilation * (g.kernel[axis] - 1) + 1 - 2 * pad;
        if used < x.dim(axis + 2)? {
            x = x.narrow(axis + 2, 0, used)?;
        }
    }
    let mut y = x.conv2d(&params[0], pad, stride, dilation, groups)?;
    if stride == 1 {
        y = every(&y, 2, g.stride[0], out_h)?;
        y = every(&y, 3, g.stride[1], out_w)?;
    }
    let bias = p.convolution_param().bias_term().then(|| &params[1]);
    Ok(vec![add_bias(y, bias)?])
}

/// The transpose: candle's conv_transpose2d per group (weights laid out
/// `[bottom channels, num_output / group, kh, kw]`, as Caffe's), then Caffe's
/// padding cropped from the full output.
pub fn deconvolution(
    p: &LayerParameter,
    b: &[Tensor],
    params: &[Tensor],
    _: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    four_d(x, "deconvolution")?;
    let g = geometry(p)?;
    let groups = p.convolution_param().group() as usize;
    let (Some(stride), Some(dilation)) = (same(&g.stride), same(&g.dilation)) else {
        candle_core::bail!(
            "the candle engine needs equal stride and dilation on both axes for Deconvolution"
        )
    };
    let pad = same(&g.pad);
    let candle_pad = pad.unwrap_or(0);
    let run = |x: &Tensor, w: &Tensor| x.conv_transpose2d(w, candle_pad, 0, stride, dilation);
    let mut y = if groups == 1 {
        run(x, &params[0])?
    } else {
        let xs = x.chunk(groups, 1)?;
        let ws = params[0].chunk(groups, 0)?;
        let parts = xs
            .iter()
            .zip(&ws)
            .map(|(x, w)| run(x, w))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&parts, 1)?
    };
    if pad.is_none() {
        let (h, w) = (y.dim(2)?, y.dim(3)?);
        y = y
            .narrow(2, g.pad[0], h - 2 * g.pad[0])?
            .narrow(3, g.pad[1], w - 2 * g.pad[1])?;
    }
    let bias = p.convolution_param().bias_term().then(|| &params[1]);
    Ok(vec![add_bias(y, bias)?])
}
