//! ImageData: images listed in a text file (`path label` per line).

use super::{data_shapes, BlobCounts, BuildContext, Layer, RunContext, Shape};
use crate::blob::Blob;
use crate::proto::LayerParameter;

pub struct ImageData {
    shapes: Vec<Shape>,
}

impl ImageData {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let source = param.image_data_param().source().to_string();
        if let Some(shapes) = data_shapes::from_context(param, ctx) {
            return Ok(ImageData { shapes });
        }
        if std::path::Path::new(&source).exists() {
            // TRANSITIONAL: replaced by the LMDB reader in the next commit.
            return Err(format!("reading `{source}` is not implemented yet"));
        }
        Err(data_shapes::missing_source(param, &source))
    }
}

impl Layer for ImageData {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, 2))
    }

    fn reshape(&mut self, _bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(self.shapes.clone())
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        _: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        Err("the ImageData layer cannot read its source yet".into())
    }

    fn is_source(&self) -> bool {
        true
    }
}
