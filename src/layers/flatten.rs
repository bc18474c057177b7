//! Flatten: merges axes `axis` to `end_axis` (inclusive) into one; data unchanged.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, count, Shape};

pub struct Flatten {
    axis: i32,
    end_axis: i32,
}

impl Flatten {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.flatten_param();
        Ok(Flatten {
            axis: p.axis(),
            end_axis: p.end_axis(),
        })
    }
}

/// Forward and backward of the layers that only change the shape (Flatten, Reshape).
pub fn copy_data(bottoms: &[&Blob], tops: &mut [Blob]) {
    tops[0].data.copy_from_slice(&bottoms[0].data);
}

pub fn copy_diff(tops: &[&Blob], propagate_down: &[bool], bottoms: &mut [Blob]) {
    if propagate_down.first().copied().unwrap_or(false) {
        bottoms[0].diff.copy_from_slice(&tops[0].diff);
    }
}

impl Layer for Flatten {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let start = canonical_axis(self.axis, b.len())?;
        let end = canonical_axis(self.end_axis, b.len())?;
        if end < start {
            return Err(format!(
                "end_axis {} comes before axis {} in a blob with {} axes",
                self.end_axis,
                self.axis,
                b.len()
            ));
        }
        let mut top = b[..start].to_vec();
        top.push(count(&b[start..=end]));
        top.extend_from_slice(&b[end + 1..]);
        Ok(vec![top])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        copy_data(bottoms, tops);
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
        copy_diff(tops, propagate_down, bottoms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn shapes_and_gradients() {
        let t = TestLayer::new("type: 'Flatten'", Phase::Test, &[vec![2, 3, 4, 5]]);
        assert_eq!(t.tops[0].shape, vec![2, 60]);
        let mut t = TestLayer::new(
            "type: 'Flatten' flatten_param { axis: 1 end_axis: -2 }",
            Phase::Test,
            &[vec![2, 3, 4, 5]],
        );
        assert_eq!(t.tops[0].shape, vec![2, 12, 5]);
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
        let p = crate::layers::testing::layer_param(
            "type: 'Flatten' flatten_param { axis: 2 end_axis: 1 }",
        );
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3, 4]]).is_err());
    }
}
