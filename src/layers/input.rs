//! Input: tops of given shapes, filled from outside (deploy nets, fixtures).
//! `--input-shape NAME=…` replaces a top's prototxt shape (a deploy net's batch of 1
//! timed at batch 8, say), as reshaping the input blob does in pycaffe.

use super::{BlobCounts, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct Input {
    shapes: Vec<Shape>,
}

impl Input {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let p = param.input_param();
        let tops = param.top.len();
        if !(p.shape.len() == 1 || p.shape.len() == tops) {
            return Err(format!(
                "input_param must give `shape` once, or once per top ({tops} tops), but gives it {} times",
                p.shape.len()
            ));
        }
        let mut shapes = Vec::with_capacity(tops);
        for (i, top) in param.top.iter().enumerate() {
            if let Some(given) = ctx.data_shapes.get(top) {
                shapes.push(given.clone());
                continue;
            }
            let s = &p.shape[if p.shape.len() == 1 { 0 } else { i }];
            let dims = s
                .dim
                .iter()
                .map(|&d| {
                    usize::try_from(d)
                        .map_err(|_| format!("input shape has a negative dimension {d}"))
                })
                .collect::<Result<Shape, String>>()?;
            shapes.push(dims);
        }
        Ok(Input { shapes })
    }
}

impl Layer for Input {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, usize::MAX))
    }

    fn reshape(&mut self, _bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(self.shapes.clone())
    }

    /// The caller fills Input tops before the pass; there is nothing to compute.
    fn forward(
        &mut self,
        _: &[&Blob],
        _: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        Ok(())
    }

    fn is_source(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::layer_param;

    #[test]
    fn a_given_shape_replaces_the_prototxt_shape_of_that_top_only() {
        let param = layer_param(
            r#"name: "in" type: "Input" top: "data" top: "label"
               input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } shape { dim: 1 } }"#,
        );
        let mut input = Input::new(&param, &BuildContext::default()).unwrap();
        assert_eq!(input.reshape(&[]).unwrap(), vec![vec![1, 3, 4, 4], vec![1]]);

        let mut ctx = BuildContext::default();
        ctx.data_shapes.insert("data".into(), vec![8, 3, 4, 4]);
        let mut input = Input::new(&param, &ctx).unwrap();
        assert_eq!(input.reshape(&[]).unwrap(), vec![vec![8, 3, 4, 4], vec![1]]);
    }
}
