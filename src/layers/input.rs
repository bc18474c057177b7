//! Input: tops of given shapes, filled from outside (deploy nets, fixtures).

use super::{BlobCounts, Layer, RunContext, Shape};
use crate::blob::Blob;
use crate::proto::LayerParameter;

pub struct Input {
    shapes: Vec<Shape>,
}

impl Input {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.input_param();
        let tops = param.top.len();
        if !(p.shape.len() == 1 || p.shape.len() == tops) {
            return Err(format!(
                "input_param must give `shape` once, or once per top ({tops} tops), but gives it {} times",
                p.shape.len()
            ));
        }
        let mut shapes = Vec::with_capacity(tops);
        for i in 0..tops {
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
