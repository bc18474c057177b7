//! Pooling: MAX / AVE / STOCHASTIC windows with Caffe's output-size rules
//! (ceil by default, and the pad clip that keeps the last window in the image).

use rayon::prelude::*;

use super::{BlobCounts, Layer, RunContext, Shape};
use crate::blob::Blob;
use crate::proto::{LayerParameter, PoolMethod, PoolingParameter, RoundMode};

/// Below this many window visits a pass runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 16;

/// Marks a MAX window with no candidate (only possible with NaN inputs); Caffe's -1.
const NO_ARGMAX: u32 = u32::MAX;

/// Resolved pooling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub global: bool,
}

pub struct Pooling {
    param: PoolingParameter,
    method: PoolMethod,
    tops: usize,
    geometry: Option<PoolGeometry>,
    /// The bottom shape and pooled size fixed by the last `reshape`.
    planes: Option<Planes>,
    /// MAX: the argmax of every output within its plane (Caffe's `max_idx_`).
    mask: Vec<u32>,
}

/// One N·C plane's geometry: input and output sizes plus the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaneGeometry {
    pub height: usize,
    pub width: usize,
    pub pooled_h: usize,
    pub pooled_w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planes {
    /// N·C.
    count: usize,
    shape: [usize; 4],
    geom: PlaneGeometry,
}

impl PlaneGeometry {
    pub fn in_size(&self) -> usize {
        self.height * self.width
    }

    pub fn out_size(&self) -> usize {
        self.pooled_h * self.pooled_w
    }

    /// Rows [start, end) of window `oh` clipped to the image, and the same for the
    /// columns of window `ow`, plus Caffe's AVE divisor: the window clipped to the
    /// padded extent (so padding counts, the ceil-mode overhang does not).
    #[inline]
    fn window(&self, oh: usize, ow: usize) -> (usize, usize, usize, usize, usize) {
        let (hs, he, hn) = span(oh, self.stride[0], self.pad[0], self.kernel[0], self.height);
        let (ws, we, wn) = span(ow, self.stride[1], self.pad[1], self.kernel[1], self.width);
        (hs, he, ws, we, hn * wn)
    }
}

/// One axis of a window: clipped [start, end) and the padded-extent length.
#[inline]
fn span(o: usize, stride: usize, pad: usize, kernel: usize, size: usize) -> (usize, usize, usize) {
    // Window start in padded coordinates: o·stride − pad (may be negative).
    let start = (o * stride) as isize - pad as isize;
    let end_padded = (start + kernel as isize).min((size + pad) as isize);
    let pool_len = (end_padded - start).max(0) as usize;
    let s = start.max(0) as usize;
    let e = (end_padded.min(size as isize)).max(0) as usize;
    (s.min(e), e, pool_len)
}

/// MAX over each window of one plane; the first maximum wins ties (strict `>`),
/// and the argmax is recorded as `h·width + w`.
pub(crate) fn max_forward_plane(g: &PlaneGeometry, src: &[f32], dst: &mut [f32], mask: &mut [u32]) {
    for oh in 0..g.pooled_h {
        for ow in 0..g.pooled_w {
            let (hs, he, ws, we, _) = g.window(oh, ow);
            let mut best = f32::MIN;
            let mut arg = NO_ARGMAX;
            for y in hs..he {
                let row = &src[y * g.width + ws..y * g.width + we];
                for (x, &v) in row.iter().enumerate() {
                    if v > best {
                        best = v;
                        arg = (y * g.width + ws + x) as u32;
                    }
                }
            }
            let o = oh * g.pooled_w + ow;
            dst[o] = best;
            mask[o] = arg;
        }
    }
}

/// Routes each output gradient to its argmax; `dst` (the bottom plane's diff) is
/// overwritten.
pub(crate) fn max_backward_plane(top_diff: &[f32], mask: &[u32], dst: &mut [f32]) {
    dst.fill(0.0);
    for (&d, &m) in top_diff.iter().zip(mask) {
        if let Some(v) = dst.get_mut(m as usize) {
            *v += d;
        }
    }
}

/// AVE over each window of one plane: the sum of the real pixels divided by the
/// window's size clipped to the padded extent (Caffe's pool_size).
pub(crate) fn ave_forward_plane(g: &PlaneGeometry, src: &[f32], dst: &mut [f32]) {
    for oh in 0..g.pooled_h {
        for ow in 0..g.pooled_w {
            let (hs, he, ws, we, pool_size) = g.window(oh, ow);
            let mut sum = 0.0f32;
            for y in hs..he {
                for &v in &src[y * g.width + ws..y * g.width + we] {
                    sum += v;
                }
            }
            dst[oh * g.pooled_w + ow] = sum / pool_size.max(1) as f32;
        }
    }
}

/// Spreads each output gradient evenly (÷ pool_size) over its window's real
/// pixels; `dst` (the bottom plane's diff) is overwritten.
pub(crate) fn ave_backward_plane(g: &PlaneGeometry, top_diff: &[f32], dst: &mut [f32]) {
    dst.fill(0.0);
    for oh in 0..g.pooled_h {
        for ow in 0..g.pooled_w {
            let (hs, he, ws, we, pool_size) = g.window(oh, ow);
            let share = top_diff[oh * g.pooled_w + ow] / pool_size.max(1) as f32;
            for y in hs..he {
                for v in &mut dst[y * g.width + ws..y * g.width + we] {
                    *v += share;
                }
            }
        }
    }
}

/// AVE pooling of consecutive planes, in parallel when the work is large.
pub(crate) fn ave_forward(g: &PlaneGeometry, src: &[f32], dst: &mut [f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    if i == 0 || o == 0 {
        return;
    }
    if dst.len() * g.kernel[0] * g.kernel[1] >= PARALLEL_WORK {
        dst.par_chunks_mut(o)
            .zip(src.par_chunks(i))
            .for_each(|(d, s)| ave_forward_plane(g, s, d));
    } else {
        dst.chunks_mut(o)
            .zip(src.chunks(i))
            .for_each(|(d, s)| ave_forward_plane(g, s, d));
    }
}

/// The gradient of [`ave_forward`]: overwrites `dst` (bottom diffs).
pub(crate) fn ave_backward(g: &PlaneGeometry, top_diff: &[f32], dst: &mut [f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    if i == 0 || o == 0 {
        return;
    }
    if top_diff.len() * g.kernel[0] * g.kernel[1] >= PARALLEL_WORK {
        dst.par_chunks_mut(i)
            .zip(top_diff.par_chunks(o))
            .for_each(|(d, t)| ave_backward_plane(g, t, d));
    } else {
        dst.chunks_mut(i)
            .zip(top_diff.chunks(o))
            .for_each(|(d, t)| ave_backward_plane(g, t, d));
    }
}

fn pair(
    h: Option<u32>,
    w: Option<u32>,
    single: Option<u32>,
    default: u32,
    name: &str,
) -> Result<[usize; 2], String> {
    match (h, w, single) {
        (Some(h), Some(w), None) => Ok([h as usize, w as usize]),
        (None, None, s) => {
            let v = s.unwrap_or(default) as usize;
            Ok([v, v])
        }
        (Some(_), Some(_), Some(_)) => {
            Err(format!("give either {name} or {name}_h/{name}_w, not both"))
        }
        _ => Err(format!("{name}_h and {name}_w must be given together")),
    }
}

/// Pooled output size along one axis (Caffe's PoolingLayer::Reshape).
pub fn pooled_size(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    round: RoundMode,
) -> Result<usize, String> {
    let padded = input + 2 * pad;
    if kernel > padded {
        return Err(format!(
            "kernel {kernel} is larger than the padded input {input}+2·{pad} = {padded}"
        ));
    }
    let span = padded - kernel;
    let mut out = match round {
        RoundMode::Ceil => span.div_ceil(stride) + 1,
        RoundMode::Floor => span / stride + 1,
    };
    // The last window must start inside the image (plus left padding).
    if pad > 0 && (out - 1) * stride >= input + pad {
        out -= 1;
    }
    Ok(out)
}

impl Pooling {
    pub fn new(layer: &LayerParameter) -> Result<Self, String> {
        let p = layer.pooling_param();
        Ok(Pooling {
            method: p.pool(),
            tops: layer.top.len(),
            param: p,
            geometry: None,
            planes: None,
            mask: Vec::new(),
        })
    }

    pub fn geometry(&self) -> Option<PoolGeometry> {
        self.geometry
    }

    fn resolve(&self, height: usize, width: usize) -> Result<PoolGeometry, String> {
        let p = &self.param;
        let global = p.global_pooling();
        let has_kernel = p.kernel_size.is_some() || p.kernel_h.is_some() || p.kernel_w.is_some();
        let kernel = if global {
            if has_kernel {
                return Err("with global_pooling, the kernel size cannot be given".into());
            }
            [height, width]
        } else {
            if !has_kernel {
                return Err("pooling_param needs kernel_size (or kernel_h and kernel_w)".into());
            }
            pair(p.kernel_h, p.kernel_w, p.kernel_size, 0, "kernel_size")?
        };
        if kernel.contains(&0) {
            return Err("kernel dimensions must be greater than zero".into());
        }
        let pad = pair(p.pad_h, p.pad_w, p.pad, 0, "pad")?;
        let stride = pair(p.stride_h, p.stride_w, p.stride, 1, "stride")?;
        if stride.contains(&0) {
            return Err("stride must be greater than zero".into());
        }
        if global && (pad != [0, 0] || stride != [1, 1]) {
            return Err("with global_pooling, pad must be 0 and stride 1".into());
        }
        if pad != [0, 0] {
            if !matches!(self.method, PoolMethod::Max | PoolMethod::Ave) {
                return Err("padding is only implemented for MAX and AVE pooling".into());
            }
            if pad[0] >= kernel[0] || pad[1] >= kernel[1] {
                return Err(format!(
                    "pad {pad:?} must be smaller than the kernel {kernel:?}"
                ));
            }
        }
        Ok(PoolGeometry {
            kernel,
            stride,
            pad,
            global,
        })
    }
}

impl Pooling {
    /// The shapes `reshape` fixed, checked against the blobs a pass was given.
    fn check_blobs(
        &self,
        bottom: &[usize],
        top_counts: impl Iterator<Item = usize>,
    ) -> Result<Planes, String> {
        let planes = self
            .planes
            .ok_or("pooling was not reshaped before running")?;
        if bottom != planes.shape {
            return Err(format!(
                "bottom has shape {bottom:?}, but the layer was shaped for {:?}",
                planes.shape
            ));
        }
        let want = planes.count * planes.geom.out_size();
        let mut n = 0;
        for c in top_counts {
            n += 1;
            if c != want {
                return Err(format!("a top holds {c} values, {want} expected"));
            }
        }
        if n == 0 {
            return Err("pooling needs a top".into());
        }
        Ok(planes)
    }
}

impl Layer for Pooling {
    fn blob_counts(&self) -> BlobCounts {
        // MAX pooling may output its argmax mask as a second top.
        let max_tops = if self.method == PoolMethod::Max { 2 } else { 1 };
        BlobCounts::range((1, 1), (1, max_tops))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.len() != 4 {
            return Err(format!(
                "pooling needs a 4-axis bottom (N, C, H, W), got shape {b:?}"
            ));
        }
        let g = self.resolve(b[2], b[3])?;
        let round = if g.global {
            RoundMode::Floor
        } else {
            self.param.round_mode()
        };
        if b[2] == 0 || b[3] == 0 {
            return Err(format!("pooling needs a non-empty image, got shape {b:?}"));
        }
        let h = pooled_size(b[2], g.kernel[0], g.stride[0], g.pad[0], round)?;
        let w = pooled_size(b[3], g.kernel[1], g.stride[1], g.pad[1], round)?;
        self.geometry = Some(g);
        self.planes = Some(Planes {
            count: b[0] * b[1],
            shape: [b[0], b[1], b[2], b[3]],
            geom: PlaneGeometry {
                height: b[2],
                width: b[3],
                pooled_h: h,
                pooled_w: w,
                kernel: g.kernel,
                stride: g.stride,
                pad: g.pad,
            },
        });
        let top = vec![b[0], b[1], h, w];
        Ok(vec![top; self.tops])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let planes = self.check_blobs(&bottoms[0].shape, tops.iter().map(|t| t.count()))?;
        let g = planes.geom;
        let (i, o) = (g.in_size(), g.out_size());
        let src = &bottoms[0].data;
        match self.method {
            PoolMethod::Max => {
                self.mask.resize(planes.count * o, NO_ARGMAX);
                let dst = &mut tops[0].data;
                let mask = &mut self.mask;
                if dst.len() * g.kernel[0] * g.kernel[1] >= PARALLEL_WORK {
                    dst.par_chunks_mut(o)
                        .zip(mask.par_chunks_mut(o))
                        .zip(src.par_chunks(i))
                        .for_each(|((d, m), s)| max_forward_plane(&g, s, d, m));
                } else {
                    dst.chunks_mut(o)
                        .zip(mask.chunks_mut(o))
                        .zip(src.chunks(i))
                        .for_each(|((d, m), s)| max_forward_plane(&g, s, d, m));
                }
                if let Some(top_mask) = tops.get_mut(1) {
                    for (t, &m) in top_mask.data.iter_mut().zip(&self.mask) {
                        *t = if m == NO_ARGMAX { -1.0 } else { m as f32 };
                    }
                }
            }
            PoolMethod::Ave => ave_forward(&g, src, &mut tops[0].data),
            PoolMethod::Stochastic => {
                return Err(
                    "STOCHASTIC pooling is not supported on CPU (Caffe implements it for GPU only)"
                        .into(),
                )
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let planes = self.check_blobs(&bottoms[0].shape, tops.iter().map(|t| t.count()))?;
        let g = planes.geom;
        let (i, o) = (g.in_size(), g.out_size());
        let top_diff = &tops[0].diff;
        let dst = &mut bottoms[0].diff;
        match self.method {
            PoolMethod::Max => {
                if self.mask.len() != top_diff.len() {
                    return Err("MAX pooling backward needs a forward pass first".into());
                }
                let mask = &self.mask;
                if top_diff.len() >= PARALLEL_WORK {
                    dst.par_chunks_mut(i)
                        .zip(top_diff.par_chunks(o))
                        .zip(mask.par_chunks(o))
                        .for_each(|((d, t), m)| max_backward_plane(t, m, d));
                } else {
                    dst.chunks_mut(i)
                        .zip(top_diff.chunks(o))
                        .zip(mask.chunks(o))
                        .for_each(|((d, t), m)| max_backward_plane(t, m, d));
                }
            }
            PoolMethod::Ave => ave_backward(&g, top_diff, dst),
            PoolMethod::Stochastic => {
                return Err(
                    "STOCHASTIC pooling is not supported on CPU (Caffe implements it for GPU only)"
                        .into(),
                )
            }
        }
        Ok(())
    }

    fn forward_macs(&self, _bottoms: &[Shape], tops: &[Shape]) -> u64 {
        // Not multiply-accumulates, but the comparisons/additions are worth showing.
        let g = self.geometry.unwrap_or(PoolGeometry {
            kernel: [0, 0],
            stride: [1, 1],
            pad: [0, 0],
            global: false,
        });
        tops.first().map_or(0, |t| {
            super::count(t) as u64 * (g.kernel[0] * g.kernel[1]) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_mode_and_pad_clip() {
        // cifar10_quick: 32 → 16 → 8 → 4 with 3×3 stride 2 windows.
        assert_eq!(pooled_size(32, 3, 2, 0, RoundMode::Ceil), Ok(16));
        assert_eq!(pooled_size(16, 3, 2, 0, RoundMode::Ceil), Ok(8));
        assert_eq!(pooled_size(8, 3, 2, 0, RoundMode::Ceil), Ok(4));
        assert_eq!(pooled_size(32, 3, 2, 0, RoundMode::Floor), Ok(15));
        // The clip: 5 + 2·1 with k=2, s=2 gives ceil(5/2)+1 = 4, but window 3 would
        // start at 6 ≥ 5 + 1, so it is dropped.
        assert_eq!(pooled_size(5, 2, 2, 1, RoundMode::Ceil), Ok(3));
        assert!(pooled_size(2, 3, 1, 0, RoundMode::Ceil).is_err());
    }
}
