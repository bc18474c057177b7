//! Caffe's MAX and AVE pooling from gathers: each plane is flattened to H·W
//! values plus one sentinel (−∞ for MAX, 0 for AVE); a precomputed index tensor
//! lists every output's window, positions outside the image pointing at the
//! sentinel (Caffe's hstart/hend clipping, ceil mode and padding); then a max
//! (through argmax, so the gradient goes to Caffe's first maximum) or a sum
//! divided by Caffe's pool size (counted with the padding clip). candle's own
//! max_pool2d has no padding or ceil mode, and no backward unless kernel = stride.

use candle_core::{Result, Tensor};

use super::OpContext;
use crate::proto::{LayerParameter, PoolMethod};

/// Kernel, stride and pad per axis, as Caffe resolves them (the native layer has
/// validated them when the net was built).
fn window(p: &LayerParameter, h: usize, w: usize) -> ([usize; 3], [usize; 3]) {
    let q = p.pooling_param();
    let two = |hv: Option<u32>, wv: Option<u32>, one: Option<u32>, default: u32| match (hv, wv) {
        (Some(a), Some(b)) => [a as usize, b as usize],
        _ => {
            let v = one.unwrap_or(default) as usize;
            [v, v]
        }
    };
    let kernel = if q.global_pooling() {
        [h, w]
    } else {
        two(q.kernel_h, q.kernel_w, q.kernel_size, 0)
    };
    let stride = two(q.stride_h, q.stride_w, q.stride, 1);
    let pad = two(q.pad_h, q.pad_w, q.pad, 0);
    (
        [kernel[0], stride[0], pad[0]],
        [kernel[1], stride[1], pad[1]],
    )
}

/// The window of every output (row-major, `kh·kw` indexes each, `sentinel` for
/// positions outside the image) and, per output, Caffe's AVE pool size.
pub(crate) fn windows(
    (kh, sh, ph): (usize, usize, usize),
    (kw, sw, pw): (usize, usize, usize),
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
) -> (Vec<u32>, Vec<f32>) {
    let sentinel = (h * w) as u32;
    let mut index = Vec::with_capacity(out_h * out_w * kh * kw);
    let mut size = Vec::with_capacity(out_h * out_w);
    for oy in 0..out_h {
        let hstart = (oy * sh) as isize - ph as isize;
        let hend_pad = (hstart + kh as isize).min((h + ph) as isize);
        for ox in 0..out_w {
            let wstart = (ox * sw) as isize - pw as isize;
            let wend_pad = (wstart + kw as isize).min((w + pw) as isize);
            size.push(((hend_pad - hstart) * (wend_pad - wstart)) as f32);
            for dy in 0..kh as isize {
                for dx in 0..kw as isize {
                    let (y, x) = (hstart + dy, wstart + dx);
                    let inside = y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w;
                    index.push(if inside {
                        (y as usize * w + x as usize) as u32
                    } else {
                        sentinel
                    });
                }
            }
        }
    }
    (index, size)
}

pub fn pooling(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let x = &b[0];
    let (_, _, h, w) = x.dims4()?;
    let method = p.pooling_param().pool();
    if !matches!(method, PoolMethod::Max | PoolMethod::Ave) {
        candle_core::bail!("the candle engine has no STOCHASTIC pooling yet")
    }
    if ctx.top_shapes.len() > 1 {
        candle_core::bail!("the candle engine has no MAX pooling mask top yet")
    }
    let out = (ctx.top_shapes[0][2], ctx.top_shapes[0][3]);
    let (ay, ax) = window(p, h, w);
    let window = Window {
        y: (ay[0], ay[1], ay[2]),
        x: (ax[0], ax[1], ax[2]),
        out,
    };
    Ok(vec![pool(x, method == PoolMethod::Max, &window, ctx)?])
}

/// A pooling window per axis as (kernel, stride, pad), and the output size.
pub(crate) struct Window {
    pub y: (usize, usize, usize),
    pub x: (usize, usize, usize),
    pub out: (usize, usize),
}

/// MAX (or AVE) pooling of an (N, C, H, W) tensor; the window indexes are made
/// once and kept in `ctx.constants`.
pub(crate) fn pool(x: &Tensor, max: bool, window: &Window, ctx: &mut OpContext) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (out_h, out_w) = window.out;
    let taps = window.y.0 * window.x.0;
    if ctx.constants.is_empty() {
        let (index, size) = windows(window.y, window.x, (h, w), window.out);
        ctx.constants
            .push(Tensor::new(index.as_slice(), ctx.device)?);
        ctx.constants
            .push(Tensor::from_vec(size, (1, 1, out_h * out_w), ctx.device)?);
    }
    let (index, size) = (&ctx.constants[0], &ctx.constants[1]);
    let sentinel = if max { f32::NEG_INFINITY } else { 0.0 };
    let planes = x.reshape((n, c, h * w))?;
    let pad = Tensor::full(sentinel, (n, c, 1), ctx.device)?;
    let taps_of = Tensor::cat(&[&planes, &pad], 2)?
        .index_select(index, 2)?
        .reshape((n, c, out_h * out_w, taps))?;
    let y = if max {
        let first = taps_of.argmax_keepdim(3)?;
        taps_of.gather(&first, 3)?.squeeze(3)?
    } else {
        taps_of.sum(3)?.broadcast_div(size)?
    };
    y.reshape((n, c, out_h, out_w))
}

#[cfg(test)]
mod tests {
    use super::windows;

    /// Caffe's ceil-mode rule with padding: 7 wide, kernel 3, stride 2, pad 1 →
    /// 4 outputs; the last window starts at 5 and its pool size stops at 7 + 1.
    #[test]
    fn windows_follow_caffe_clipping() {
        let (index, size) = windows((1, 1, 0), (3, 2, 1), (1, 7), (1, 4));
        let s = 7;
        assert_eq!(index, vec![s, 0, 1, 1, 2, 3, 3, 4, 5, 5, 6, s]);
        assert_eq!(size, vec![3.0, 3.0, 3.0, 3.0]);
    }
}
