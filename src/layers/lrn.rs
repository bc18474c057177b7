//! LRN: local response normalisation (Caffe's lrn_layer.cpp).
//!
//! - ACROSS_CHANNELS: y = x·s^(−β), s = k + (α/n)·Σ x² over the n channels centred
//!   on the output's channel (zero beyond the edges), summed as Caffe does: a
//!   running window that adds the head channel and subtracts the tail.
//! - WITHIN_CHANNEL: Caffe composes Split → Power(x²) → AVE Pooling (n×n, pad
//!   (n−1)/2, stride 1, ceil) → Power(1 + α·p)^(−β) → Eltwise PROD. This computes
//!   the same quantities directly: y = x·(1 + α·mean_{n×n}(x²))^(−β), where the mean
//!   divides by n² (padding counts, as Caffe's AVE pooling divisor). `k` is ignored.

use rayon::prelude::*;

use super::pooling::pooled_size;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::kernels::pool::{ave_backward, ave_forward, PlaneGeometry};
use crate::proto::{LayerParameter, NormRegion, RoundMode};
use crate::shape::Shape;

/// Below this many values a pass runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 15;

pub struct Lrn {
    size: usize,
    pre_pad: usize,
    alpha: f32,
    beta: f32,
    k: f32,
    region: NormRegion,
    /// The bottom shape fixed by the last `reshape`.
    shape: Option<[usize; 4]>,
    /// ACROSS: the scale s per element. WITHIN: the base 1 + α·mean(x²).
    scale: Vec<f32>,
    /// WITHIN: base^(−β), the Power layer's output.
    power: Vec<f32>,
    /// Backward scratch, one element per bottom element.
    scratch: Vec<f32>,
}

impl Lrn {
    pub fn new(layer: &LayerParameter) -> Result<Self, String> {
        let p = layer.lrn_param();
        let size = p.local_size() as usize;
        if size % 2 != 1 {
            return Err(format!(
                "LRN only supports odd values for local_size, got {size}"
            ));
        }
        Ok(Lrn {
            size,
            pre_pad: (size - 1) / 2,
            alpha: p.alpha(),
            beta: p.beta(),
            k: p.k(),
            region: p.norm_region(),
            shape: None,
            scale: Vec::new(),
            power: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// The AVE pooling WITHIN_CHANNEL runs over each H×W plane.
    fn window(&self, h: usize, w: usize) -> PlaneGeometry {
        PlaneGeometry {
            height: h,
            width: w,
            pooled_h: h,
            pooled_w: w,
            kernel: [self.size, self.size],
            stride: [1, 1],
            pad: [self.pre_pad, self.pre_pad],
        }
    }

    fn checked_shape(&self, bottom: &Blob, top_count: usize) -> Result<[usize; 4], String> {
        let shape = self.shape.ok_or("LRN was not reshaped before running")?;
        if bottom.shape != shape {
            return Err(format!(
                "bottom has shape {:?}, but the layer was shaped for {shape:?}",
                bottom.shape
            ));
        }
        if top_count != bottom.count() {
            return Err(format!(
                "top holds {top_count} values, {} expected",
                bottom.count()
            ));
        }
        Ok(shape)
    }

    /// s = k + (α/n)·Σ_window x² for one image (C·HW values), Caffe's running sum.
    fn across_scale_image(&self, channels: usize, hw: usize, x: &[f32], scale: &mut [f32]) {
        let a = self.alpha / self.size as f32;
        let (size, pre) = (self.size, self.pre_pad);
        // Channel `c` of the zero-padded square buffer is bottom channel c − pre_pad.
        let padded = |c: usize| -> Option<&[f32]> {
            c.checked_sub(pre)
                .filter(|&b| b < channels)
                .map(|b| &x[b * hw..(b + 1) * hw])
        };
        let (first, rest) = scale.split_at_mut(hw.min(scale.len()));
        first.fill(self.k);
        for c in 0..size {
            if let Some(src) = padded(c) {
                for (s, &v) in first.iter_mut().zip(src) {
                    *s += a * (v * v);
                }
            }
        }
        let mut prev: &[f32] = first;
        for (ci, cur) in rest.chunks_mut(hw).enumerate() {
            let c = ci + 1;
            cur.copy_from_slice(prev);
            if let Some(head) = padded(c + size - 1) {
                for (s, &v) in cur.iter_mut().zip(head) {
                    *s += a * (v * v);
                }
            }
            if let Some(tail) = padded(c - 1) {
                for (s, &v) in cur.iter_mut().zip(tail) {
                    *s -= a * (v * v);
                }
            }
            prev = cur;
        }
    }

    /// ACROSS backward for one image: dx = dy·s^(−β) − (2αβ/n)·x·Σ_window dy·y/s.
    /// `ratio` is scratch of C·HW values; `accum` of HW values.
    #[allow(clippy::too_many_arguments)]
    fn across_backward_image(
        &self,
        channels: usize,
        hw: usize,
        x: &[f32],
        y: &[f32],
        dy: &[f32],
        scale: &[f32],
        ratio: &mut [f32],
        dx: &mut [f32],
    ) {
        let cache = 2.0 * self.alpha * self.beta / self.size as f32;
        let (size, pre) = (self.size, self.pre_pad);
        for i in 0..dx.len() {
            dx[i] = scale[i].powf(-self.beta) * dy[i];
            ratio[i] = dy[i] * y[i] / scale[i];
        }
        let mut accum = vec![0.0f32; hw];
        let channel = |c: usize| -> Option<std::ops::Range<usize>> {
            c.checked_sub(pre)
                .filter(|&b| b < channels)
                .map(|b| b * hw..(b + 1) * hw)
        };
        for c in 0..size - 1 {
            if let Some(r) = channel(c) {
                for (a, &v) in accum.iter_mut().zip(&ratio[r]) {
                    *a += v;
                }
            }
        }
        for c in 0..channels {
            if let Some(r) = channel(c + size - 1) {
                for (a, &v) in accum.iter_mut().zip(&ratio[r]) {
                    *a += v;
                }
            }
            let r = c * hw..(c + 1) * hw;
            for ((d, &xv), &a) in dx[r.clone()].iter_mut().zip(&x[r]).zip(&accum) {
                *d -= cache * (a * xv);
            }
            if let Some(r) = channel(c) {
                for (a, &v) in accum.iter_mut().zip(&ratio[r]) {
                    *a -= v;
                }
            }
        }
    }
}

impl Layer for Lrn {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.len() != 4 {
            return Err(format!(
                "LRN needs a 4-axis bottom (N, C, H, W), got shape {b:?}"
            ));
        }
        if self.region == NormRegion::WithinChannel {
            if b[2] == 0 || b[3] == 0 {
                return Err(format!(
                    "WITHIN_CHANNEL LRN needs a non-empty image, got shape {b:?}"
                ));
            }
            // Caffe's inner AVE pooling; with stride 1 and pad (n−1)/2 it keeps the size.
            for &d in &b[2..4] {
                let out = pooled_size(d, self.size, 1, self.pre_pad, RoundMode::Ceil)?;
                if out != d {
                    return Err(format!(
                        "local_size {} changes the spatial size {d} to {out}",
                        self.size
                    ));
                }
            }
        }
        self.shape = Some([b[0], b[1], b[2], b[3]]);
        Ok(vec![b.clone()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let [n, c, h, w] = self.checked_shape(bottoms[0], tops[0].count())?;
        let x = &bottoms[0].data;
        let y = &mut tops[0].data;
        let count = x.len();
        let beta = self.beta;
        self.scale.resize(count, 0.0);
        if count == 0 {
            return Ok(());
        }
        match self.region {
            NormRegion::AcrossChannels => {
                let image = c * h * w;
                if image == 0 {
                    return Ok(());
                }
                let mut scale = std::mem::take(&mut self.scale);
                let this = &*self;
                let run = |(s, xi): (&mut [f32], &[f32])| {
                    this.across_scale_image(c, h * w, xi, s);
                };
                if count >= PARALLEL_WORK && n > 1 {
                    scale
                        .par_chunks_mut(image)
                        .zip(x.par_chunks(image))
                        .for_each(run);
                } else {
                    scale.chunks_mut(image).zip(x.chunks(image)).for_each(run);
                }
                let out = |((yv, &xv), &sv): ((&mut f32, &f32), &f32)| {
                    *yv = sv.powf(-beta) * xv;
                };
                if count >= PARALLEL_WORK {
                    y.par_iter_mut()
                        .zip(x.par_iter())
                        .zip(scale.par_iter())
                        .for_each(out);
                } else {
                    y.iter_mut().zip(x.iter()).zip(scale.iter()).for_each(out);
                }
                self.scale = scale;
            }
            NormRegion::WithinChannel => {
                let g = self.window(h, w);
                // Square, pool (mean over the padded n×n window), then the power.
                let squares: Vec<f32> = x.iter().map(|&v| v * v).collect();
                ave_forward(&g, &squares, &mut self.scale);
                self.power.resize(count, 0.0);
                let alpha = self.alpha;
                for ((b, p), (yv, &xv)) in self
                    .scale
                    .iter_mut()
                    .zip(self.power.iter_mut())
                    .zip(y.iter_mut().zip(x.iter()))
                {
                    *b = alpha * *b + 1.0;
                    *p = b.powf(-beta);
                    *yv = xv * *p;
                }
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
        let [_, c, h, w] = self.checked_shape(&bottoms[0], tops[0].count())?;
        let count = bottoms[0].count();
        if self.scale.len() != count
            || (self.region == NormRegion::WithinChannel && self.power.len() != count)
        {
            return Err("LRN backward needs a forward pass first".into());
        }
        if count == 0 {
            return Ok(());
        }
        let (y, dy) = (&tops[0].data, &tops[0].diff);
        let bottom = &mut bottoms[0];
        let (x, dx) = (&bottom.data, &mut bottom.diff);
        self.scratch.resize(count, 0.0);
        match self.region {
            NormRegion::AcrossChannels => {
                let image = c * h * w;
                if image == 0 {
                    return Ok(());
                }
                let mut ratio = std::mem::take(&mut self.scratch);
                let this = &*self;
                type Chunks<'a> = (
                    ((&'a mut [f32], &'a mut [f32]), (&'a [f32], &'a [f32])),
                    (&'a [f32], &'a [f32]),
                );
                let run = |(((dxi, ri), (xi, yi)), (dyi, si)): Chunks| {
                    this.across_backward_image(c, h * w, xi, yi, dyi, si, ri, dxi);
                };
                if count >= PARALLEL_WORK {
                    dx.par_chunks_mut(image)
                        .zip(ratio.par_chunks_mut(image))
                        .zip(x.par_chunks(image).zip(y.par_chunks(image)))
                        .zip(dy.par_chunks(image).zip(self.scale.par_chunks(image)))
                        .for_each(run);
                } else {
                    dx.chunks_mut(image)
                        .zip(ratio.chunks_mut(image))
                        .zip(x.chunks(image).zip(y.chunks(image)))
                        .zip(dy.chunks(image).zip(self.scale.chunks(image)))
                        .for_each(run);
                }
                self.scratch = ratio;
            }
            NormRegion::WithinChannel => {
                let g = self.window(h, w);
                // Through the power layer: d(pooled) = dy·x · (−αβ)·p/base.
                let diff_scale = -self.beta * self.alpha;
                let d_pooled = &mut self.scratch;
                for i in 0..count {
                    let d_power = dy[i] * x[i];
                    d_pooled[i] = self.power[i] / self.scale[i] * diff_scale * d_power;
                }
                // Through the pooling into the squares (dx holds d(x²) for now).
                ave_backward(&g, d_pooled, dx);
                // Square's gradient 2x, plus the product's direct path dy·p.
                for i in 0..count {
                    let through_square = 2.0 * x[i] * dx[i];
                    dx[i] = dy[i] * self.power[i] + through_square;
                }
            }
        }
        Ok(())
    }

    fn forward_macs(&self, bottoms: &[Shape], _tops: &[Shape]) -> u64 {
        let n = bottoms.first().map_or(0, |b| crate::shape::count(b)) as u64;
        match self.region {
            NormRegion::AcrossChannels => n * 4,
            NormRegion::WithinChannel => n * (self.size * self.size + 3) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;
    use crate::rng::Rng;

    fn layer(params: &str, shape: &[usize]) -> TestLayer {
        let text = format!("type: \"LRN\" bottom: \"x\" top: \"y\" lrn_param {{ {params} }}");
        TestLayer::new(&text, Phase::Test, &[shape.to_vec()])
    }

    #[test]
    fn across_channels_gradients() {
        let mut rng = Rng::new(5);
        for size in [1, 3, 5, 7] {
            let c = 1 + rng.below(8) as usize;
            let k = 0.5 + rng.uniform(0.0, 2.0);
            let beta = rng.uniform(0.3, 1.0);
            let shape = [1 + rng.below(2) as usize, c, 2 + rng.below(3) as usize, 3];
            let mut t = layer(
                &format!("local_size: {size} alpha: 0.7 beta: {beta} k: {k}"),
                &shape,
            );
            t.check_gradients(&[true], false, 1e-2, 1e-2, None);
        }
    }

    #[test]
    fn within_channel_gradients() {
        for (size, shape) in [(1, [1, 2, 3, 3]), (3, [2, 2, 4, 5]), (5, [1, 3, 3, 6])] {
            let mut t = layer(
                &format!("local_size: {size} alpha: 0.9 beta: 0.6 norm_region: WITHIN_CHANNEL"),
                &shape,
            );
            t.check_gradients(&[true], false, 1e-2, 1e-2, None);
        }
    }

    #[test]
    fn values_match_the_formulas() {
        // ACROSS, one channel of three: s = k + (α/n)·x² (the neighbours are padding).
        let mut t = layer("local_size: 3 alpha: 0.6 beta: 0.5 k: 2", &[1, 1, 1, 2]);
        t.bottoms[0].data = vec![1.0, -2.0];
        t.forward();
        let want = |x: f32| x * (2.0 + 0.2 * x * x).powf(-0.5);
        assert!((t.tops[0].data[0] - want(1.0)).abs() < 1e-6);
        assert!((t.tops[0].data[1] - want(-2.0)).abs() < 1e-6);
        // ACROSS, two channels, n = 3: each channel sees both.
        let mut t = layer("local_size: 3 alpha: 3 beta: 1 k: 1", &[1, 2, 1, 1]);
        t.bottoms[0].data = vec![1.0, 2.0];
        t.forward();
        // s = 1 + (3/3)·(1 + 4) = 6 for both.
        assert!((t.tops[0].data[0] - 1.0 / 6.0).abs() < 1e-6);
        assert!((t.tops[0].data[1] - 2.0 / 6.0).abs() < 1e-6);
        // WITHIN, 1×1 image, n = 3: the mean divides x² by n² = 9; k is ignored.
        let mut t = layer(
            "local_size: 3 alpha: 0.9 beta: 0.75 k: 5 norm_region: WITHIN_CHANNEL",
            &[1, 1, 1, 1],
        );
        t.bottoms[0].data = vec![3.0];
        t.forward();
        let want = 3.0 * (1.0f32 + 0.9 * 9.0 / 9.0).powf(-0.75);
        assert!((t.tops[0].data[0] - want).abs() < 1e-6);
    }

    #[test]
    fn parallel_images_match_single_images() {
        for region in ["ACROSS_CHANNELS", "WITHIN_CHANNEL"] {
            let params = format!("local_size: 5 alpha: 0.5 beta: 0.75 norm_region: {region}");
            let mut big = layer(&params, &[16, 16, 12, 12]);
            big.forward();
            big.tops[0].diff = big.tops[0].data.iter().map(|v| v - 0.25).collect();
            big.backward(&[true]);
            let image = 16 * 12 * 12;
            for n in [0, 9, 15] {
                let mut one = layer(&params, &[1, 16, 12, 12]);
                let r = n * image..(n + 1) * image;
                one.bottoms[0].data = big.bottoms[0].data[r.clone()].to_vec();
                one.forward();
                assert_eq!(one.tops[0].data, big.tops[0].data[r.clone()]);
                one.tops[0].diff = big.tops[0].diff[r.clone()].to_vec();
                one.backward(&[true]);
                assert_eq!(one.bottoms[0].diff, big.bottoms[0].diff[r]);
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let even =
            layer_param("type: \"LRN\" bottom: \"x\" top: \"y\" lrn_param { local_size: 4 }");
        assert!(Lrn::new(&even).is_err());
        let p = layer_param("type: \"LRN\" bottom: \"x\" top: \"y\"");
        let mut l = Lrn::new(&p).unwrap();
        assert!(l.reshape(&[vec![2, 3, 4]]).is_err());
        let mut rng = Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Test,
            rng: &mut rng,
            param_propagate: &[],
        };
        let x = Blob::new(&[1, 2, 2, 2]);
        let mut tops = vec![Blob::new(&[1, 2, 2, 2])];
        assert!(l.forward(&[&x], &mut tops, &mut [], &mut ctx).is_err());
        l.reshape(&[vec![1, 2, 2, 2]]).unwrap();
        let mut bottoms = vec![x.clone()];
        let top_refs: Vec<&Blob> = tops.iter().collect();
        assert!(l
            .backward(&top_refs, &[true], &mut bottoms, &mut [], &mut ctx)
            .is_err());
        let other = Blob::new(&[1, 2, 2, 3]);
        assert!(l.forward(&[&other], &mut tops, &mut [], &mut ctx).is_err());
        assert!(l.forward(&[&x], &mut tops, &mut [], &mut ctx).is_ok());
        let top_refs: Vec<&Blob> = tops.iter().collect();
        assert!(l
            .backward(&top_refs, &[true], &mut bottoms, &mut [], &mut ctx)
            .is_ok());
    }
}
