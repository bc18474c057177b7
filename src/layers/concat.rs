//! Concat: joins its bottoms along `axis` (or the deprecated `concat_dim`); every
//! other axis must agree.

use super::axis_copy::copy_axis_block;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, split_at_axis, Shape};

pub struct Concat {
    axis: i32,
    resolved: usize,
    outer: usize,
    inner: usize,
    sizes: Vec<usize>,
}

impl Concat {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.concat_param();
        let axis = match (p.axis, p.concat_dim) {
            (Some(_), Some(_)) => {
                return Err("give either concat_param.axis or concat_dim, not both".into())
            }
            (None, Some(d)) => {
                i32::try_from(d).map_err(|_| format!("concat_dim {d} is too large"))?
            }
            _ => p.axis(),
        };
        Ok(Concat {
            axis,
            resolved: 0,
            outer: 0,
            inner: 0,
            sizes: Vec::new(),
        })
    }
}

impl Layer for Concat {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, usize::MAX), (1, 1))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let first = &bottoms[0];
        let axis = canonical_axis(self.axis, first.len())?;
        let mut top = first.clone();
        top[axis] = 0;
        for (i, b) in bottoms.iter().enumerate() {
            let same = b.len() == first.len()
                && b.iter()
                    .zip(first)
                    .enumerate()
                    .all(|(k, (x, y))| k == axis || x == y);
            if !same {
                return Err(format!(
                    "bottom {i} has shape {b:?}, which does not match bottom 0 {first:?} outside the concat axis {axis}"
                ));
            }
            top[axis] += b[axis];
        }
        self.resolved = axis;
        (self.outer, _, self.inner) = split_at_axis(first, axis);
        self.sizes = bottoms.iter().map(|b| b[axis]).collect();
        Ok(vec![top])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let total: usize = self.sizes.iter().sum();
        let mut off = 0;
        for (b, &n) in bottoms.iter().zip(&self.sizes) {
            copy_axis_block(
                &b.data,
                n,
                0,
                &mut tops[0].data,
                total,
                off,
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
        let total: usize = self.sizes.iter().sum();
        let mut off = 0;
        for (i, (b, &n)) in bottoms.iter_mut().zip(&self.sizes).enumerate() {
            if propagate_down.get(i).copied().unwrap_or(false) {
                copy_axis_block(
                    &tops[0].diff,
                    total,
                    off,
                    &mut b.diff,
                    n,
                    0,
                    n,
                    self.outer,
                    self.inner,
                );
            }
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
    fn joins_along_the_axis_and_splits_gradients_back() {
        let mut t = TestLayer::new(
            "type: 'Concat' concat_param { axis: -1 }",
            Phase::Test,
            &[vec![2, 2], vec![2, 1]],
        );
        assert_eq!(t.tops[0].shape, vec![2, 3]);
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0];
        t.bottoms[1].data = vec![5.0, 6.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![1.0, 2.0, 5.0, 3.0, 4.0, 6.0]);
        let mut t = TestLayer::new(
            "type: 'Concat'",
            Phase::Test,
            &[vec![2, 3, 2], vec![2, 1, 2]],
        );
        t.check_gradients(&[true, true], false, 1e-2, 1e-3, None);
    }

    #[test]
    fn mismatches_are_errors() {
        let p = crate::layers::testing::layer_param("type: 'Concat'");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3, 4], vec![2, 3, 5]]).is_err());
        assert!(l.reshape(&[vec![2, 3], vec![2, 3, 1]]).is_err());
        let p = crate::layers::testing::layer_param(
            "type: 'Concat' concat_param { axis: 1 concat_dim: 1 }",
        );
        assert!(crate::layers::create(&p, &Default::default()).is_err());
    }
}
