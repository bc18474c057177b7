//! Pooling: MAX / AVE / STOCHASTIC windows with Caffe's output-size rules
//! (ceil by default, and the pad clip that keeps the last window in the image).

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::kernels::pool::{self, PlaneGeometry, NO_ARGMAX};
use crate::proto::{LayerParameter, PoolMethod, PoolingParameter, RoundMode};
use crate::shape::Shape;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planes {
    /// N·C.
    count: usize,
    shape: [usize; 4],
    geom: PlaneGeometry,
}

pub(super) fn pair(
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
        let o = g.out_size();
        let src = &bottoms[0].data;
        match self.method {
            PoolMethod::Max => {
                self.mask.resize(planes.count * o, NO_ARGMAX);
                pool::max_forward(&g, src, &mut tops[0].data, &mut self.mask);
                if let Some(top_mask) = tops.get_mut(1) {
                    for (t, &m) in top_mask.data.iter_mut().zip(&self.mask) {
                        *t = if m == NO_ARGMAX { -1.0 } else { m as f32 };
                    }
                }
            }
            PoolMethod::Ave => pool::ave_forward(&g, src, &mut tops[0].data),
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
        let top_diff = &tops[0].diff;
        let dst = &mut bottoms[0].diff;
        match self.method {
            PoolMethod::Max => {
                if self.mask.len() != top_diff.len() {
                    return Err("MAX pooling backward needs a forward pass first".into());
                }
                pool::max_backward(&g, top_diff, &self.mask, dst);
            }
            PoolMethod::Ave => pool::ave_backward(&g, top_diff, dst),
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
            crate::shape::count(t) as u64 * (g.kernel[0] * g.kernel[1]) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;
    use crate::rng::Rng;

    fn layer(pool: &str, extra: &str, tops: usize, shape: &[usize]) -> TestLayer {
        let tops: String = (0..tops).map(|i| format!(" top: \"t{i}\"")).collect();
        let text = format!(
            "type: \"Pooling\" bottom: \"x\"{tops} pooling_param {{ pool: {pool} {extra} }}"
        );
        TestLayer::new(&text, Phase::Test, &[shape.to_vec()])
    }

    /// Distinct values at least 0.05 apart, shuffled, so MAX has no ties or kinks.
    fn distinct(n: usize, rng: &mut Rng) -> Vec<f32> {
        let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
        for i in (1..n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
        v
    }

    /// A random legal 2-D window: kernel, stride, pad < kernel, rounding. With
    /// `covering`, stride ≤ kernel, so no window falls wholly outside the image
    /// (an empty MAX window outputs −FLT_MAX, which drowns finite differences).
    fn random_config(rng: &mut Rng, covering: bool) -> (String, Vec<usize>) {
        let kh = 1 + rng.below(4) as usize;
        let kw = 1 + rng.below(4) as usize;
        let (sh_max, sw_max) = if covering { (kh, kw) } else { (3, 3) };
        let sh = 1 + rng.below(sh_max as u64) as usize;
        let sw = 1 + rng.below(sw_max as u64) as usize;
        let ph = rng.below(kh as u64) as usize;
        let pw = rng.below(kw as u64) as usize;
        let round = if rng.below(2) == 0 { "CEIL" } else { "FLOOR" };
        let h = kh.max(2) + rng.below(5) as usize;
        let w = kw.max(2) + rng.below(5) as usize;
        let shape = vec![1 + rng.below(2) as usize, 1 + rng.below(3) as usize, h, w];
        let text = format!(
            "kernel_h: {kh} kernel_w: {kw} stride_h: {sh} stride_w: {sw} pad_h: {ph} pad_w: {pw} round_mode: {round}"
        );
        (text, shape)
    }

    #[test]
    fn max_gradients_random_windows() {
        let mut rng = Rng::new(7);
        for _ in 0..12 {
            let (extra, shape) = random_config(&mut rng, true);
            let mut t = layer("MAX", &extra, 1, &shape);
            let n = t.bottoms[0].count();
            t.bottoms[0].data = distinct(n, &mut rng);
            t.check_gradients(&[true], false, 1e-3, 1e-2, None);
        }
    }

    #[test]
    fn ave_gradients_random_windows() {
        let mut rng = Rng::new(11);
        for _ in 0..12 {
            let (extra, shape) = random_config(&mut rng, false);
            let mut t = layer("AVE", &extra, 1, &shape);
            t.check_gradients(&[true], false, 1e-2, 1e-2, None);
        }
    }

    #[test]
    fn global_gradients() {
        for pool in ["MAX", "AVE"] {
            let mut t = layer(pool, "global_pooling: true", 1, &[2, 3, 4, 5]);
            let mut rng = Rng::new(3);
            t.bottoms[0].data = distinct(120, &mut rng);
            t.check_gradients(&[true], false, 1e-3, 1e-2, None);
        }
    }

    #[test]
    fn ave_divisor_counts_pad_but_not_overhang() {
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        // Pad 1, k 2, s 2: every window is 2×2 in padded coordinates (divisor 4).
        let mut t = layer("AVE", "kernel_size: 2 stride: 2 pad: 1", 1, &[1, 1, 3, 3]);
        t.bottoms[0].data = x.clone();
        t.forward();
        assert_eq!(t.tops[0].shape, vec![1, 1, 2, 2]);
        assert_eq!(t.tops[0].data, vec![0.25, 1.25, 2.75, 7.0]);
        // No pad, ceil: the last windows overhang the image and divide by what is left.
        let mut t = layer("AVE", "kernel_size: 2 stride: 2", 1, &[1, 1, 3, 3]);
        t.bottoms[0].data = x;
        t.forward();
        assert_eq!(t.tops[0].data, vec![3.0, 4.5, 7.5, 9.0]);
    }

    #[test]
    fn max_mask_top_and_first_maximum_wins() {
        let mut t = layer("MAX", "kernel_size: 2 stride: 1", 2, &[1, 1, 3, 3]);
        t.bottoms[0].data = vec![1.0, 1.0, 0.0, 1.0, 1.0, 5.0, 0.0, 2.0, 2.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![1.0, 5.0, 2.0, 5.0]);
        assert_eq!(t.tops[1].data, vec![0.0, 5.0, 7.0, 5.0]);
        // Backward routes each gradient to its argmax, summing where windows share it.
        t.tops[0].diff = vec![1.0, 2.0, 3.0, 4.0];
        t.bottoms[0].diff.fill(9.0);
        t.backward(&[true]);
        assert_eq!(
            t.bottoms[0].diff,
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 6.0, 0.0, 3.0, 0.0]
        );
    }

    #[test]
    fn empty_windows_do_not_touch_gradients() {
        // k 1, s 2 over 2 rows, ceil: the second row of windows starts at row 2,
        // beyond the image (no pad, so Caffe's clip rule keeps it).
        let mut t = layer("MAX", "kernel_size: 1 stride: 2", 2, &[1, 1, 2, 3]);
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![1.0, 3.0, f32::MIN, f32::MIN]);
        assert_eq!(t.tops[1].data, vec![0.0, 2.0, -1.0, -1.0]);
        t.tops[0].diff = vec![1.0, 1.0, 1.0, 1.0];
        t.backward(&[true]);
        assert_eq!(t.bottoms[0].diff, vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        // AVE: Caffe divides 0 by 0 there (NaN); here the empty window gives 0.
        let mut t = layer("AVE", "kernel_size: 1 stride: 2", 1, &[1, 1, 2, 3]);
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![1.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn parallel_planes_match_single_images() {
        for pool in ["MAX", "AVE"] {
            let shape = [16, 8, 20, 20];
            let mut big = layer(pool, "kernel_size: 3 stride: 2 pad: 1", 1, &shape);
            big.forward();
            big.tops[0].diff = big.tops[0].data.iter().map(|v| v * 0.5 + 1.0).collect();
            big.backward(&[true]);
            let image = 8 * 20 * 20;
            let out = big.tops[0].count() / 16;
            for n in [0, 7, 15] {
                let mut one = layer(pool, "kernel_size: 3 stride: 2 pad: 1", 1, &[1, 8, 20, 20]);
                one.bottoms[0].data = big.bottoms[0].data[n * image..(n + 1) * image].to_vec();
                one.forward();
                assert_eq!(one.tops[0].data, big.tops[0].data[n * out..(n + 1) * out]);
                one.tops[0].diff = big.tops[0].diff[n * out..(n + 1) * out].to_vec();
                one.backward(&[true]);
                assert_eq!(
                    one.bottoms[0].diff,
                    big.bottoms[0].diff[n * image..(n + 1) * image]
                );
            }
        }
    }

    #[test]
    fn stochastic_is_refused_on_cpu() {
        let mut t = layer("STOCHASTIC", "kernel_size: 2 stride: 2", 1, &[1, 1, 4, 4]);
        let bottoms: Vec<&Blob> = t.bottoms.iter().collect();
        let mut rng = Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Test,
            rng: &mut rng,
            param_propagate: &[],
        };
        let err = t
            .layer
            .forward(&bottoms, &mut t.tops, &mut [], &mut ctx)
            .unwrap_err();
        assert!(err.contains("not supported on CPU"), "{err}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let p = crate::layers::testing::layer_param(
            "type: \"Pooling\" bottom: \"x\" top: \"y\" pooling_param { pool: MAX kernel_size: 2 }",
        );
        let mut l = Pooling::new(&p).unwrap();
        assert!(l.reshape(&[vec![1, 2, 3]]).is_err());
        assert!(l.reshape(&[vec![1, 2, 0, 4]]).is_err());
        let mut rng = Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Test,
            rng: &mut rng,
            param_propagate: &[],
        };
        // Running before reshape, or with a bottom of another shape.
        let x = Blob::new(&[1, 1, 4, 4]);
        let mut tops = vec![Blob::new(&[1, 1, 3, 3])];
        assert!(l.forward(&[&x], &mut tops, &mut [], &mut ctx).is_err());
        l.reshape(&[vec![1, 1, 4, 4]]).unwrap();
        let mut bottoms = vec![x.clone()];
        let top_refs: Vec<&Blob> = tops.iter().collect();
        // Backward before any forward has no argmax to route through.
        assert!(l
            .backward(&top_refs, &[true], &mut bottoms, &mut [], &mut ctx)
            .is_err());
        let other = Blob::new(&[1, 1, 5, 5]);
        assert!(l.forward(&[&other], &mut tops, &mut [], &mut ctx).is_err());
        let mut short = vec![Blob::new(&[1, 1, 2, 2])];
        assert!(l.forward(&[&x], &mut short, &mut [], &mut ctx).is_err());
        assert!(l.forward(&[&x], &mut tops, &mut [], &mut ctx).is_ok());
    }

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
