//! Parameter: exposes one learned blob of `parameter_param.shape` as its top.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct Parameter {
    shape: Shape,
}

impl Parameter {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let shape = param
            .parameter_param()
            .shape()
            .dim
            .iter()
            .map(|&d| {
                usize::try_from(d)
                    .map_err(|_| format!("parameter shape has a negative dimension {d}"))
            })
            .collect::<Result<Shape, String>>()?;
        Ok(Parameter { shape })
    }
}

impl Layer for Parameter {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(0, 1)
    }

    fn reshape(&mut self, _: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(vec![self.shape.clone()])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        vec![self.shape.clone()]
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        tops: &mut [Blob],
        params: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        tops[0].data.copy_from_slice(&params[0].data);
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        _: &[bool],
        _: &mut [Blob],
        params: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        params[0]
            .diff
            .iter_mut()
            .zip(&tops[0].diff)
            .for_each(|(p, &d)| *p += d);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn the_top_is_the_parameter() {
        let mut t = TestLayer::new(
            "type: 'Parameter' parameter_param { shape { dim: [2, 3] } }",
            Phase::Train,
            &[],
        );
        assert_eq!(t.tops[0].shape, vec![2, 3]);
        t.forward();
        assert_eq!(t.tops[0].data, t.params[0].data);
        t.check_gradients(&[], true, 1e-2, 1e-3, None);
    }
}
