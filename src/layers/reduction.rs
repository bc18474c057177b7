//! Reduction: SUM, ASUM, SUMSQ or MEAN over every axis from `axis` on, times
//! `coeff`; the top keeps the axes before `axis`.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{LayerParameter, ReductionOp};
use crate::shape::{canonical_axis, count, Shape};

pub struct Reduction {
    op: ReductionOp,
    axis: i32,
    coeff: f32,
    num: usize,
    dim: usize,
}

impl Reduction {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.reduction_param();
        Ok(Reduction {
            op: p.operation(),
            axis: p.axis(),
            coeff: p.coeff(),
            num: 0,
            dim: 0,
        })
    }

    /// The coefficient applied to each sum (MEAN divides by the reduced count).
    fn scale(&self) -> f32 {
        match self.op {
            ReductionOp::Mean => self.coeff / self.dim.max(1) as f32,
            _ => self.coeff,
        }
    }
}

impl Layer for Reduction {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let axis = if b.is_empty() && self.axis == 0 {
            0
        } else {
            canonical_axis(self.axis, b.len())?
        };
        self.num = count(&b[..axis]);
        self.dim = count(&b[axis..]);
        Ok(vec![b[..axis].to_vec()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let scale = self.scale();
        let x = &bottoms[0].data;
        for (i, y) in tops[0].data.iter_mut().enumerate().take(self.num) {
            let row = &x[i * self.dim..(i + 1) * self.dim];
            let s: f32 = match self.op {
                ReductionOp::Sum | ReductionOp::Mean => row.iter().sum(),
                ReductionOp::Asum => row.iter().map(|v| v.abs()).sum(),
                ReductionOp::Sumsq => row.iter().map(|v| v * v).sum(),
            };
            *y = s * scale;
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
        let scale = self.scale();
        let b = &mut bottoms[0];
        for i in 0..self.num {
            let c = tops[0].diff[i] * scale;
            let r = i * self.dim..(i + 1) * self.dim;
            for (g, &x) in b.diff[r.clone()].iter_mut().zip(&b.data[r]) {
                *g = match self.op {
                    ReductionOp::Sum | ReductionOp::Mean => c,
                    ReductionOp::Asum => {
                        if x > 0.0 {
                            c
                        } else if x < 0.0 {
                            -c
                        } else {
                            0.0
                        }
                    }
                    ReductionOp::Sumsq => 2.0 * c * x,
                };
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
    fn every_operation_values_and_gradients() {
        for (op, expected) in [
            ("SUM", -4.0f32),
            ("ASUM", 20.0),
            ("SUMSQ", 60.0),
            ("MEAN", -1.0),
        ] {
            let text =
                format!("type: 'Reduction' reduction_param {{ operation: {op} axis: 1 coeff: 2 }}");
            let mut t = TestLayer::new(&text, Phase::Test, &[vec![2, 2, 2]]);
            assert_eq!(t.tops[0].shape, vec![2]);
            t.bottoms[0].data = vec![1.0, -2.0, 3.0, -4.0, 0.5, 0.5, 0.5, 0.5];
            t.forward();
            assert!(
                (t.tops[0].data[0] - expected).abs() < 1e-6,
                "{op}: {}",
                t.tops[0].data[0]
            );
            let mut t = TestLayer::new(&text, Phase::Test, &[vec![2, 3, 2]]);
            t.check_gradients(&[true], false, 1e-3, 1e-2, None);
        }
        let t = TestLayer::new("type: 'Reduction'", Phase::Test, &[vec![2, 3]]);
        assert_eq!(t.tops[0].shape, Vec::<usize>::new());
    }
}
