//! Silence: consumes its bottoms so they are not net outputs; produces nothing and
//! passes a zero gradient back.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct Silence;

impl Silence {
    pub fn new(_: &LayerParameter) -> Result<Self, String> {
        Ok(Silence)
    }
}

impl Layer for Silence {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, usize::MAX), (0, 0))
    }

    fn reshape(&mut self, _: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(Vec::new())
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        _: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        Ok(())
    }

    fn backward(
        &mut self,
        _: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        for (b, &p) in bottoms.iter_mut().zip(propagate_down) {
            if p {
                b.diff.iter_mut().for_each(|d| *d = 0.0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn zeroes_requested_gradients_only() {
        let mut t = TestLayer::new("type: 'Silence'", Phase::Test, &[vec![2], vec![3]]);
        assert!(t.tops.is_empty());
        t.forward();
        t.bottoms[0].diff = vec![1.0; 2];
        t.bottoms[1].diff = vec![1.0; 3];
        t.backward(&[true, false]);
        assert_eq!(
            (t.bottoms[0].diff.clone(), t.bottoms[1].diff.clone()),
            (vec![0.0; 2], vec![1.0; 3])
        );
    }
}
