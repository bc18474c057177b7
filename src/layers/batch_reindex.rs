//! BatchReindex: `top[i] = bottom[0][index[i]]` along the first axis, with the
//! indices in `bottom[1]`; gradients add up over repeated indices.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{count, Shape};

pub struct BatchReindex {
    num: usize,
    inner: usize,
}

impl BatchReindex {
    pub fn new(_: &LayerParameter) -> Result<Self, String> {
        Ok(BatchReindex { num: 0, inner: 0 })
    }

    fn index(&self, v: f32) -> Result<usize, String> {
        if v.fract() != 0.0 || v < 0.0 || v >= self.num as f32 {
            return Err(format!("index {v} is not an integer in [0, {})", self.num));
        }
        Ok(v as usize)
    }
}

impl Layer for BatchReindex {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(2, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let (b, idx) = (&bottoms[0], &bottoms[1]);
        if idx.len() != 1 || b.is_empty() {
            return Err(format!(
                "the index bottom must be 1-D and the data at least 1-D, got {idx:?} and {b:?}"
            ));
        }
        self.num = b[0];
        self.inner = count(&b[1..]);
        let mut top = b.clone();
        top[0] = idx[0];
        Ok(vec![top])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let n = self.inner;
        for (i, &v) in bottoms[1].data.iter().enumerate() {
            let src = self.index(v)?;
            tops[0].data[i * n..(i + 1) * n]
                .copy_from_slice(&bottoms[0].data[src * n..(src + 1) * n]);
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
        if propagate_down.get(1).copied().unwrap_or(false) {
            return Err("BatchReindex cannot backpropagate to its indices".into());
        }
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let n = self.inner;
        let indices = bottoms[1].data.clone();
        let g = &mut bottoms[0].diff;
        g.iter_mut().for_each(|d| *d = 0.0);
        for (i, &v) in indices.iter().enumerate() {
            let dst = self.index(v)?;
            g[dst * n..(dst + 1) * n]
                .iter_mut()
                .zip(&tops[0].diff[i * n..(i + 1) * n])
                .for_each(|(a, &d)| *a += d);
        }
        Ok(())
    }

    fn allow_force_backward(&self, bottom: usize) -> bool {
        bottom != 1
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn gathers_rows_and_sums_repeated_gradients() {
        let mut t = TestLayer::new("type: 'BatchReindex'", Phase::Test, &[vec![3, 2], vec![4]]);
        assert_eq!(t.tops[0].shape, vec![4, 2]);
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        t.bottoms[1].data = vec![2.0, 0.0, 2.0, 1.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0, 3.0, 4.0]);
        t.check_gradients(&[true, false], false, 1e-2, 1e-3, None);
    }
}
