//! Split: copies its bottom to every top; the bottom's gradient is the sum of the
//! tops' gradients. (The net handles implicit fan-out itself; this is for nets that
//! name Split layers explicitly.)

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct Split {
    tops: usize,
}

impl Split {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(Split {
            tops: param.top.len().max(1),
        })
    }
}

impl Layer for Split {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, 1), (1, usize::MAX))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(vec![bottoms[0].clone(); self.tops])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        for t in tops.iter_mut() {
            t.data.copy_from_slice(&bottoms[0].data);
        }
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
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let g = &mut bottoms[0].diff;
        g.copy_from_slice(&tops[0].diff);
        for t in &tops[1..] {
            g.iter_mut().zip(&t.diff).for_each(|(a, &d)| *a += d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn gradients_sum_over_tops() {
        let mut t = TestLayer::new(
            "type: 'Split' top: 'a' top: 'b' top: 'c'",
            Phase::Test,
            &[vec![2, 3]],
        );
        assert_eq!(t.tops.len(), 3);
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }
}
