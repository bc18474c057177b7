//! MemoryData: batches handed in from outside (Caffe's API). Its shapes come from
//! memory_data_param; its tops are filled by the caller, like Input's.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct MemoryData {
    shapes: Vec<Shape>,
}

impl MemoryData {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.memory_data_param();
        let dims = [p.batch_size(), p.channels(), p.height(), p.width()];
        if dims.contains(&0) {
            return Err(format!(
                "memory_data_param needs non-zero batch_size, channels, height and width (got {} {} {} {})",
                dims[0], dims[1], dims[2], dims[3]
            ));
        }
        let data: Shape = dims.iter().map(|&d| d as usize).collect();
        let mut shapes = vec![data];
        if param.top.len() > 1 {
            shapes.push(vec![p.batch_size() as usize]);
        }
        Ok(MemoryData { shapes })
    }
}

impl Layer for MemoryData {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, 2))
    }

    fn reshape(&mut self, _bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(self.shapes.clone())
    }

    /// The caller fills the tops (as Caffe's Reset/AddDatumVector); nothing to compute.
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
