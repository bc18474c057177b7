//! Data layers caffers builds but cannot run: WindowData and Python.
//! Their top shapes come from `--input-shape` only, so nets that use them can be
//! checked, timed and fed from outside; running them forward is a clear error.

use super::{data_shapes, BlobCounts, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct UnsupportedData {
    kind: &'static str,
    shapes: Vec<Shape>,
}

impl UnsupportedData {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let kind = match param.r#type() {
            "WindowData" => "WindowData",
            _ => "Python",
        };
        if kind == "Python" && !param.bottom.is_empty() {
            let p = param.python_param();
            return Err(format!(
                "Python layers are not supported (module `{}`, layer `{}`); only bottomless ones can be built, with --input-shape for their tops",
                p.module(),
                p.layer()
            ));
        }
        let shapes = data_shapes::from_context(param, ctx).ok_or_else(|| {
            let top = param.top.first().map(String::as_str).unwrap_or("data");
            format!(
                "{kind} is not supported yet; give --input-shape {top}=N,C,H,W (for each top) to build this net with data from outside"
            )
        })?;
        Ok(UnsupportedData { kind, shapes })
    }
}

impl Layer for UnsupportedData {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, usize::MAX))
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
        Err(format!(
            "{} is not supported yet: its tops can only be filled from outside (external data)",
            self.kind
        ))
    }

    fn is_source(&self) -> bool {
        true
    }
}
