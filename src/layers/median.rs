//! Median: each output is the median of its 2-D window (a caffers extension, for
//! the median filter of `nets/filters/watercolor.prototxt`).
//!
//! Windows are Pooling's (kernel, stride, pad, and the `_h`/`_w` forms); the output
//! size is Caffe's pooling rule with round_mode FLOOR: ⌊(H + 2·pad − kernel) /
//! stride⌋ + 1, less one when the last window would start in the bottom padding.
//! Padding adds no values: the median is over the window's in-bounds values only.
//! With an even count of them it is the lower of the two middle values, so every
//! output is one input element, and backward routes each top gradient to that
//! element (summing where windows overlap), as MAX pooling routes to its argmax.
//! Equal values rank in row-major order, so which element is chosen is defined.

use rayon::prelude::*;

use super::pooling::{pair, pooled_size};
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{LayerParameter, MedianParameter, RoundMode};
use crate::shape::Shape;

pub struct Median {
    kernel: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
    /// The bottom shape and output size fixed by the last `reshape`.
    shape: Option<([usize; 4], [usize; 2])>,
    /// Per output: the index within its plane of the element that was the median.
    chosen: Vec<u32>,
}

impl Median {
    pub fn new(layer: &LayerParameter) -> Result<Self, String> {
        let p: MedianParameter = layer.median_param();
        if p.kernel_size.is_none() && p.kernel_h.is_none() && p.kernel_w.is_none() {
            return Err("median_param needs kernel_size (or kernel_h and kernel_w)".into());
        }
        let kernel = pair(p.kernel_h, p.kernel_w, p.kernel_size, 0, "kernel_size")?;
        let pad = pair(p.pad_h, p.pad_w, p.pad, 0, "pad")?;
        let stride = pair(p.stride_h, p.stride_w, p.stride, 1, "stride")?;
        if kernel.contains(&0) {
            return Err("kernel dimensions must be greater than zero".into());
        }
        if stride.contains(&0) {
            return Err("stride must be greater than zero".into());
        }
        // So every window holds at least one in-bounds value.
        if pad[0] >= kernel[0] || pad[1] >= kernel[1] {
            return Err(format!(
                "pad {pad:?} must be smaller than the kernel {kernel:?}"
            ));
        }
        Ok(Median {
            kernel,
            stride,
            pad,
            shape: None,
            chosen: Vec::new(),
        })
    }

    /// The in-bounds rows (or columns) of output `o`'s window along one axis.
    fn span(&self, axis: usize, o: usize, size: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride[axis]).saturating_sub(self.pad[axis]);
        let end = (o * self.stride[axis] + self.kernel[axis]).saturating_sub(self.pad[axis]);
        start..end.min(size)
    }

    fn shaped(&self, bottom: &[usize]) -> Result<([usize; 4], [usize; 2]), String> {
        let (shape, out) = self.shape.ok_or("median was not reshaped before running")?;
        if bottom != shape {
            return Err(format!(
                "bottom has shape {bottom:?}, but the layer was shaped for {shape:?}"
            ));
        }
        Ok((shape, out))
    }
}

impl Layer for Median {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.len() != 4 {
            return Err(format!(
                "median needs a 4-axis bottom (N, C, H, W), got shape {b:?}"
            ));
        }
        if b[2] == 0 || b[3] == 0 {
            return Err(format!("median needs a non-empty image, got shape {b:?}"));
        }
        let h = pooled_size(b[2], self.kernel[0], self.stride[0], self.pad[0], RoundMode::Floor)?;
        let w = pooled_size(b[3], self.kernel[1], self.stride[1], self.pad[1], RoundMode::Floor)?;
        if b[2] * b[3] > u32::MAX as usize {
            return Err(format!("an image plane of {b:?} is too large"));
        }
        self.shape = Some(([b[0], b[1], b[2], b[3]], [h, w]));
        Ok(vec![vec![b[0], b[1], h, w]])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let ([_, _, height, width], [out_h, out_w]) = self.shaped(&bottoms[0].shape)?;
        let (plane, out_plane) = (height * width, out_h * out_w);
        self.chosen.resize(tops[0].count(), 0);
        let mut chosen = std::mem::take(&mut self.chosen);
        let this = &*self;
        bottoms[0]
            .data
            .par_chunks(plane)
            .zip(tops[0].data.par_chunks_mut(out_plane))
            .zip(chosen.par_chunks_mut(out_plane))
            .for_each(|((src, dst), picks)| {
                let mut window: Vec<(f32, u32)> = Vec::with_capacity(this.kernel[0] * this.kernel[1]);
                for oy in 0..out_h {
                    let rows = this.span(0, oy, height);
                    for ox in 0..out_w {
                        window.clear();
                        for y in rows.clone() {
                            for x in this.span(1, ox, width) {
                                let i = y * width + x;
                                window.push((src[i], i as u32));
                            }
                        }
                        // Lower middle; (value, index) is a total order, so ties are stable.
                        let mid = (window.len() - 1) / 2;
                        let (_, &mut (value, index), _) = window
                            .select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                        dst[oy * out_w + ox] = value;
                        picks[oy * out_w + ox] = index;
                    }
                }
            });
        self.chosen = chosen;
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
        let ([_, _, height, width], [out_h, out_w]) = self.shaped(&bottoms[0].shape)?;
        let top_diff = &tops[0].diff;
        if self.chosen.len() != top_diff.len() {
            return Err("median backward needs a forward pass first".into());
        }
        let (plane, out_plane) = (height * width, out_h * out_w);
        bottoms[0]
            .diff
            .par_chunks_mut(plane)
            .zip(top_diff.par_chunks(out_plane))
            .zip(self.chosen.par_chunks(out_plane))
            .for_each(|((dst, grads), picks)| {
                dst.fill(0.0);
                for (&g, &i) in grads.iter().zip(picks) {
                    dst[i as usize] += g;
                }
            });
        Ok(())
    }

    fn forward_macs(&self, _bottoms: &[Shape], tops: &[Shape]) -> u64 {
        // Comparisons rather than multiply-accumulates: one pass over each window.
        tops.first().map_or(0, |t| {
            crate::shape::count(t) as u64 * (self.kernel[0] * self.kernel[1]) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;
    use crate::rng::Rng;

    fn layer(window: &str, shape: &[usize]) -> TestLayer {
        let text = format!("type: \"Median\" bottom: \"x\" top: \"y\" median_param {{ {window} }}");
        TestLayer::new(&text, Phase::Test, &[shape.to_vec()])
    }

    #[test]
    fn output_size_is_the_floor_rule_with_pad() {
        // 5×5, kernel 5, pad 2: same size. 6 wide, kernel 3, stride 2: ⌊3/2⌋+1 = 2
        // (ceil would give 3). 7 high, kernel 2, stride 3, pad 1: ⌊7/3⌋+1 = 3.
        assert_eq!(layer("kernel_size: 5 pad: 2", &[1, 3, 5, 5]).tops[0].shape, [1, 3, 5, 5]);
        assert_eq!(
            layer("kernel_size: 3 stride: 2", &[2, 1, 6, 6]).tops[0].shape,
            [2, 1, 2, 2]
        );
        assert_eq!(
            layer("kernel_h: 2 kernel_w: 1 stride_h: 3 stride_w: 1 pad_h: 1 pad_w: 0", &[1, 1, 7, 4]).tops[0].shape,
            [1, 1, 3, 4]
        );
    }

    #[test]
    fn medians_of_in_bounds_values_lower_middle_when_even() {
        // 3×3 image, 3×3 window, pad 1: corners see 4 values, edges 6, the centre 9.
        let mut t = layer("kernel_size: 3 pad: 1", &[1, 1, 3, 3]);
        t.bottoms[0].data = vec![
            9.0, 1.0, 5.0, //
            3.0, 7.0, 2.0, //
            8.0, 4.0, 6.0,
        ];
        t.forward();
        // Top-left {9,1,3,7} sorted 1,3,7,9 → 3. Top {9,1,5,3,7,2} → 1,2,3,5,7,9 → 3.
        // Top-right {1,5,7,2} → 1,2,5,7 → 2. Left {9,1,3,7,8,4} → 1,3,4,7,8,9 → 4.
        // Centre: 1..9 → 5. Right {1,5,7,2,4,6} → 1,2,4,5,6,7 → 4.
        // Bottom-left {3,7,8,4} → 3,4,7,8 → 4. Bottom {3,7,2,8,4,6} → 2,3,4,6,7,8 → 4.
        // Bottom-right {7,2,4,6} → 2,4,6,7 → 4.
        assert_eq!(
            t.tops[0].data,
            vec![3.0, 3.0, 2.0, 4.0, 5.0, 4.0, 4.0, 4.0, 4.0]
        );
    }

    #[test]
    fn backward_routes_to_the_median_and_sums_overlaps() {
        let mut t = layer("kernel_size: 3 pad: 1", &[1, 1, 3, 3]);
        t.bottoms[0].data = vec![9.0, 1.0, 5.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0];
        t.forward();
        t.tops[0].diff = (1..=9).map(|v| v as f32).collect();
        t.bottoms[0].diff = vec![-100.0; 9];
        t.backward(&[true]);
        // Medians were the elements 3 (index 3) ×2, 2 (index 5), 5 (index 2),
        // 4 (index 7) ×5 — the top diffs of those outputs land there.
        let mut want = vec![0.0; 9];
        want[3] = 1.0 + 2.0;
        want[5] = 3.0;
        want[2] = 5.0;
        want[7] = 4.0 + 6.0 + 7.0 + 8.0 + 9.0;
        assert_eq!(t.bottoms[0].diff, want);
    }

    #[test]
    fn equal_values_rank_in_row_major_order() {
        // Sorted with positions: 1 (1), 5 (0), 5 (2), 5 (3); the lower middle is
        // rank 1, the 5 at position 0.
        let mut t = layer("kernel_size: 2", &[1, 1, 2, 2]);
        t.bottoms[0].data = vec![5.0, 1.0, 5.0, 5.0];
        t.forward();
        t.tops[0].diff = vec![1.0];
        t.backward(&[true]);
        assert_eq!(t.tops[0].data, vec![5.0]);
        assert_eq!(t.bottoms[0].diff, vec![1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Rng::new(7);
        for (window, shape) in [
            ("kernel_size: 3 pad: 1", [2, 2, 5, 4]),
            ("kernel_size: 5 pad: 2", [1, 3, 6, 6]),
            ("kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 pad_h: 0 pad_w: 1", [1, 2, 5, 5]),
        ] {
            let mut t = layer(window, &shape);
            // Distinct values 0.05 apart: no ties, and a 1e-3 step never reorders them.
            let n = t.bottoms[0].count();
            let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
            for i in (1..n).rev() {
                v.swap(i, rng.below(i as u64 + 1) as usize);
            }
            t.bottoms[0].data = v;
            t.check_gradients(&[true], false, 1e-3, 1e-2, None);
        }
    }

    #[test]
    fn bad_windows_are_errors() {
        let ctx = crate::layers::BuildContext::default();
        let err = |p: &str| {
            let text = format!("type: \"Median\" bottom: \"x\" top: \"y\" {p}");
            crate::layers::create(&layer_param(&text), &ctx).err().unwrap()
        };
        assert!(err("").contains("needs kernel_size"));
        assert!(err("median_param { kernel_size: 3 pad: 3 }").contains("smaller than the kernel"));
        assert!(err("median_param { kernel_size: 3 stride: 0 }").contains("stride"));
        assert!(err("median_param { kernel_size: 0 }").contains("greater than zero"));
        assert!(err("median_param { kernel_size: 3 kernel_h: 2 kernel_w: 2 }").contains("not both"));
        let mut m = crate::layers::create(
            &layer_param("type: \"Median\" median_param { kernel_size: 3 }"),
            &ctx,
        )
        .unwrap();
        assert!(m.reshape(&[vec![3, 4]]).unwrap_err().contains("4-axis"));
        assert!(m.reshape(&[vec![1, 1, 2, 2]]).unwrap_err().contains("larger than"));
    }
}
