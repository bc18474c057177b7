//! Crop: cuts `bottom[0]` to the shape of `bottom[1]` on every axis from `axis`
//! on, starting at `offset` (one for all cropped axes, or one each). `bottom[1]`
//! only gives the shape and gets no gradient.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, Shape};

pub struct Crop {
    axis: i32,
    offsets: Vec<usize>,
    /// Resolved per-axis offsets, and the bottom and top shapes.
    starts: Vec<usize>,
    bottom: Shape,
    top: Shape,
}

impl Crop {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.crop_param();
        Ok(Crop {
            axis: p.axis(),
            offsets: p.offset.iter().map(|&v| v as usize).collect(),
            starts: Vec::new(),
            bottom: Vec::new(),
            top: Vec::new(),
        })
    }

    /// Visits every top element with its bottom index, innermost axis as a run.
    fn for_each_row(&self, mut f: impl FnMut(usize, usize, usize)) {
        let nd = self.top.len();
        if nd == 0 || self.top.contains(&0) {
            return;
        }
        let row = self.top[nd - 1];
        let rows: usize = self.top[..nd - 1].iter().product();
        let mut idx = vec![0usize; nd - 1];
        for r in 0..rows {
            let mut b = 0;
            for (k, &i) in idx.iter().enumerate() {
                b = b * self.bottom[k] + i + self.starts[k];
            }
            b = b * self.bottom[nd - 1] + self.starts[nd - 1];
            f(r * row, b, row);
            for k in (0..nd - 1).rev() {
                idx[k] += 1;
                if idx[k] < self.top[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
    }
}

impl Layer for Crop {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(2, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let (a, b) = (&bottoms[0], &bottoms[1]);
        if a.len() != b.len() {
            return Err(format!(
                "bottoms must have the same number of axes: {a:?} and {b:?}"
            ));
        }
        let start = canonical_axis(self.axis, a.len())?;
        let cropped = a.len() - start;
        if !(self.offsets.len() <= 1 || self.offsets.len() == cropped) {
            return Err(format!(
                "crop_param.offset must be given once or once per cropped axis ({cropped}), but is given {} times",
                self.offsets.len()
            ));
        }
        let mut top = a.clone();
        let mut starts = vec![0; a.len()];
        for i in start..a.len() {
            let off = match self.offsets.len() {
                0 => 0,
                1 => self.offsets[0],
                _ => self.offsets[i - start],
            };
            if a[i] < off || a[i] - off < b[i] {
                return Err(format!(
                    "the crop of axis {i} (size {} from offset {off}) does not fit in bottom 0 (size {})",
                    b[i], a[i]
                ));
            }
            top[i] = b[i];
            starts[i] = off;
        }
        self.starts = starts;
        self.bottom = a.clone();
        self.top = top.clone();
        Ok(vec![top])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let (src, dst) = (&bottoms[0].data, &mut tops[0].data);
        self.for_each_row(|t, b, n| dst[t..t + n].copy_from_slice(&src[b..b + n]));
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        if propagate_down.first().copied().unwrap_or(false) {
            let (src, dst) = (&tops[0].diff, &mut bottoms[0].diff);
            dst.iter_mut().for_each(|d| *d = 0.0);
            self.for_each_row(|t, b, n| dst[b..b + n].copy_from_slice(&src[t..t + n]));
        }
        if propagate_down.get(1).copied().unwrap_or(false) {
            bottoms[1].diff.iter_mut().for_each(|d| *d = 0.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    #[test]
    fn crops_with_offsets_and_routes_gradients() {
        let mut t = TestLayer::new(
            "type: 'Crop' crop_param { axis: 1 offset: [1, 2] }",
            Phase::Test,
            &[vec![1, 3, 4], vec![1, 2, 2]],
        );
        assert_eq!(t.tops[0].shape, vec![1, 2, 2]);
        t.bottoms[0].data = (0..12).map(|v| v as f32).collect();
        t.forward();
        assert_eq!(t.tops[0].data, vec![6.0, 7.0, 10.0, 11.0]);
        t.check_gradients(&[true, false], false, 1e-2, 1e-3, None);
        let mut t = TestLayer::new(
            "type: 'Crop'",
            Phase::Test,
            &[vec![2, 2, 5, 5], vec![2, 2, 3, 3]],
        );
        t.check_gradients(&[true, false], false, 1e-2, 1e-3, None);
    }

    #[test]
    fn crops_that_do_not_fit_are_errors() {
        let l =
            |text: &str| crate::layers::create(&layer_param(text), &Default::default()).unwrap();
        assert!(l("type: 'Crop' crop_param { offset: 3 }")
            .reshape(&[vec![1, 1, 4, 4], vec![1, 1, 2, 2]])
            .is_err());
        assert!(l("type: 'Crop' crop_param { offset: [1, 1, 1] }")
            .reshape(&[vec![1, 1, 4, 4], vec![1, 1, 2, 2]])
            .is_err());
        assert!(l("type: 'Crop'")
            .reshape(&[vec![1, 4, 4], vec![1, 1, 2, 2]])
            .is_err());
    }
}
