//! Softmax over one axis (`softmax_param.axis`, default 1).

use super::softmax_math::{softmax_backward, softmax_forward};
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, split_at_axis, Shape};

pub struct Softmax {
    axis: i32,
    /// (outer, channels, inner) of the bottom around the softmax axis.
    dims: (usize, usize, usize),
}

impl Softmax {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(Softmax {
            axis: param.softmax_param().axis(),
            dims: (0, 0, 0),
        })
    }
}

impl Layer for Softmax {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let axis = canonical_axis(self.axis, bottoms[0].len())?;
        self.dims = split_at_axis(&bottoms[0], axis);
        Ok(vec![bottoms[0].clone()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let (o, c, i) = self.dims;
        softmax_forward(&bottoms[0].data, &mut tops[0].data, o, c, i);
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
            let (o, c, i) = self.dims;
            softmax_backward(&tops[0].data, &tops[0].diff, &mut bottoms[0].diff, o, c, i);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn gradients_match_finite_differences() {
        let mut t = TestLayer::new("type: 'Softmax'", Phase::Test, &[vec![2, 4, 2, 3]]);
        t.check_gradients(&[true], false, 1e-2, 1e-2, None);
        let mut t = TestLayer::new(
            "type: 'Softmax' softmax_param { axis: -1 }",
            Phase::Test,
            &[vec![3, 5]],
        );
        t.check_gradients(&[true], false, 1e-2, 1e-2, None);
    }

    #[test]
    fn bad_axis_is_an_error() {
        let p = crate::layers::testing::layer_param("type: 'Softmax' softmax_param { axis: 4 }");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3]]).is_err());
    }
}
