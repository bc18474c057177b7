//! Slice: cuts its bottom along `axis` (or the deprecated `slice_dim`) at the
//! `slice_point`s, or into equal parts, one per top.

use super::axis_copy::copy_axis_block;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, split_at_axis, Shape};

pub struct Slice {
    axis: i32,
    points: Vec<usize>,
    tops: usize,
    outer: usize,
    inner: usize,
    bottom_axis: usize,
    sizes: Vec<usize>,
}

impl Slice {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.slice_param();
        let axis = match (p.axis, p.slice_dim) {
            (Some(_), Some(_)) => {
                return Err("give either slice_param.axis or slice_dim, not both".into())
            }
            (None, Some(d)) => {
                i32::try_from(d).map_err(|_| format!("slice_dim {d} is too large"))?
            }
            _ => p.axis(),
        };
        Ok(Slice {
            axis,
            points: p.slice_point.iter().map(|&v| v as usize).collect(),
            tops: param.top.len(),
            outer: 0,
            inner: 0,
            bottom_axis: 0,
            sizes: Vec::new(),
        })
    }
}

impl Layer for Slice {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, 1), (1, usize::MAX))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let axis = canonical_axis(self.axis, b.len())?;
        let len = b[axis];
        let tops = self.tops.max(self.points.len() + 1).max(1);
        let sizes: Vec<usize> = if !self.points.is_empty() {
            if self.points.len() + 1 != tops {
                return Err(format!(
                    "{} slice_point(s) cut the bottom into {} parts, but there are {tops} tops",
                    self.points.len(),
                    self.points.len() + 1
                ));
            }
            let mut prev = 0;
            let mut sizes = Vec::with_capacity(tops);
            for &p in &self.points {
                if p <= prev {
                    return Err(format!(
                        "slice points must be strictly increasing and positive, got {:?}",
                        self.points
                    ));
                }
                if p >= len {
                    return Err(format!(
                        "slice point {p} is beyond the axis {axis} of size {len}"
                    ));
                }
                sizes.push(p - prev);
                prev = p;
            }
            sizes.push(len - prev);
            sizes
        } else {
            if !len.is_multiple_of(tops) {
                return Err(format!(
                    "axis {axis} of size {len} cannot be sliced into {tops} equal parts"
                ));
            }
            vec![len / tops; tops]
        };
        (self.outer, _, self.inner) = split_at_axis(b, axis);
        self.bottom_axis = len;
        let shapes = sizes
            .iter()
            .map(|&s| {
                let mut t = b.clone();
                t[axis] = s;
                t
            })
            .collect();
        self.sizes = sizes;
        Ok(shapes)
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let mut off = 0;
        for (t, &n) in tops.iter_mut().zip(&self.sizes) {
            copy_axis_block(
                &bottoms[0].data,
                self.bottom_axis,
                off,
                &mut t.data,
                n,
                0,
                n,
                self.outer,
                self.inner,
            );
            off += n;
        }
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
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let mut off = 0;
        for (t, &n) in tops.iter().zip(&self.sizes) {
            copy_axis_block(
                &t.diff,
                n,
                0,
                &mut bottoms[0].diff,
                self.bottom_axis,
                off,
                n,
                self.outer,
                self.inner,
            );
            off += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn points_and_equal_parts() {
        let mut t = TestLayer::new(
            "type: 'Slice' top: 'a' top: 'b' slice_param { axis: 1 slice_point: 1 }",
            Phase::Test,
            &[vec![2, 3]],
        );
        assert_eq!(
            (t.tops[0].shape.clone(), t.tops[1].shape.clone()),
            (vec![2, 1], vec![2, 2])
        );
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        t.forward();
        assert_eq!(
            (t.tops[0].data.clone(), t.tops[1].data.clone()),
            (vec![1.0, 4.0], vec![2.0, 3.0, 5.0, 6.0])
        );
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
        let mut t = TestLayer::new(
            "type: 'Slice' top: 'a' top: 'b' top: 'c' slice_param { slice_dim: 0 }",
            Phase::Test,
            &[vec![6, 2, 2]],
        );
        assert!(t.tops.iter().all(|b| b.shape == vec![2, 2, 2]));
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }

    #[test]
    fn bad_points_are_errors() {
        for text in [
            "type: 'Slice' top: 'a' top: 'b' slice_param { slice_point: [2, 1] }",
            "type: 'Slice' top: 'a' top: 'b' slice_param { slice_point: 5 }",
            "type: 'Slice' top: 'a' top: 'b' top: 'c' slice_param { slice_point: 1 }",
            "type: 'Slice' top: 'a' top: 'b'",
        ] {
            let p = crate::layers::testing::layer_param(text);
            let mut l = crate::layers::create(&p, &Default::default()).unwrap();
            assert!(l.reshape(&[vec![2, 3]]).is_err(), "{text}");
        }
    }
}
