//! InnerProduct: a fully connected layer over every axis from `axis` on.

use super::{canonical_axis, count, BlobCounts, Layer, Shape};
use crate::proto::LayerParameter;

pub struct InnerProduct {
    num_output: usize,
    bias: bool,
    transpose: bool,
    axis: i32,
    inputs: usize,
}

impl InnerProduct {
    pub fn new(layer: &LayerParameter) -> Result<Self, String> {
        let p = layer.inner_product_param();
        if p.num_output() == 0 {
            return Err("inner_product_param.num_output must be greater than zero".into());
        }
        Ok(InnerProduct {
            num_output: p.num_output() as usize,
            bias: p.bias_term(),
            transpose: p.transpose(),
            axis: p.axis(),
            inputs: 0,
        })
    }
}

impl Layer for InnerProduct {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let axis = canonical_axis(self.axis, b.len())?;
        self.inputs = count(&b[axis..]);
        let mut top = b[..axis].to_vec();
        top.push(self.num_output);
        Ok(vec![top])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        let weight = if self.transpose {
            vec![self.inputs, self.num_output]
        } else {
            vec![self.num_output, self.inputs]
        };
        let mut shapes = vec![weight];
        if self.bias {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }

    fn forward_macs(&self, _bottoms: &[Shape], tops: &[Shape]) -> u64 {
        count(&tops[0]) as u64 * self.inputs as u64
    }
}
