//! Eltwise: element-wise SUM (with one coefficient per bottom), PROD or MAX of two
//! or more bottoms of the same shape.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{EltwiseOp, LayerParameter};
use crate::shape::Shape;

pub struct Eltwise {
    op: EltwiseOp,
    coeff: Vec<f32>,
    stable_prod_grad: bool,
    /// MAX: which bottom gave each output.
    argmax: Vec<usize>,
}

impl Eltwise {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.eltwise_param();
        let n = param.bottom.len();
        if !(p.coeff.is_empty() || p.coeff.len() == n) {
            return Err(format!(
                "eltwise_param takes one coefficient per bottom blob ({n}), but {} given",
                p.coeff.len()
            ));
        }
        if p.operation() != EltwiseOp::Sum && !p.coeff.is_empty() {
            return Err("eltwise_param.coeff applies only to operation SUM".into());
        }
        let coeff = if p.coeff.is_empty() {
            vec![1.0; n]
        } else {
            p.coeff.clone()
        };
        Ok(Eltwise {
            op: p.operation(),
            coeff,
            stable_prod_grad: p.stable_prod_grad(),
            argmax: Vec::new(),
        })
    }
}

impl Layer for Eltwise {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((2, usize::MAX), (1, 1))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        for (i, b) in bottoms.iter().enumerate().skip(1) {
            if *b != bottoms[0] {
                return Err(format!(
                    "bottom {i} has shape {b:?}, but bottom 0 has {:?}; all must match",
                    bottoms[0]
                ));
            }
        }
        // A layer built with fewer declared bottoms (tests) still gets coefficients.
        self.coeff.resize(bottoms.len(), 1.0);
        if self.op == EltwiseOp::Max {
            self.argmax = vec![0; crate::shape::count(&bottoms[0])];
        }
        Ok(vec![bottoms[0].clone()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let top = &mut tops[0].data;
        match self.op {
            EltwiseOp::Sum => {
                top.iter_mut().for_each(|v| *v = 0.0);
                for (b, &c) in bottoms.iter().zip(&self.coeff) {
                    top.iter_mut().zip(&b.data).for_each(|(t, &x)| *t += c * x);
                }
            }
            EltwiseOp::Prod => {
                top.copy_from_slice(&bottoms[0].data);
                for b in &bottoms[1..] {
                    top.iter_mut().zip(&b.data).for_each(|(t, &x)| *t *= x);
                }
            }
            EltwiseOp::Max => {
                // The first two: ties go to bottom 1; later bottoms must be strictly greater.
                for (idx, t) in top.iter_mut().enumerate() {
                    let (a, b) = (bottoms[0].data[idx], bottoms[1].data[idx]);
                    if a > b {
                        *t = a;
                        self.argmax[idx] = 0;
                    } else {
                        *t = b;
                        self.argmax[idx] = 1;
                    }
                }
                for (bi, b) in bottoms.iter().enumerate().skip(2) {
                    for (idx, t) in top.iter_mut().enumerate() {
                        if b.data[idx] > *t {
                            *t = b.data[idx];
                            self.argmax[idx] = bi;
                        }
                    }
                }
            }
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
        let (top_data, top_diff) = (&tops[0].data, &tops[0].diff);
        for i in 0..bottoms.len() {
            if !propagate_down.get(i).copied().unwrap_or(false) {
                continue;
            }
            match self.op {
                EltwiseOp::Sum => {
                    let c = self.coeff[i];
                    bottoms[i]
                        .diff
                        .iter_mut()
                        .zip(top_diff)
                        .for_each(|(g, &d)| *g = c * d);
                }
                EltwiseOp::Prod => {
                    let mut g = vec![1.0f32; top_diff.len()];
                    if self.stable_prod_grad {
                        for (j, b) in bottoms.iter().enumerate() {
                            if j != i {
                                g.iter_mut().zip(&b.data).for_each(|(v, &x)| *v *= x);
                            }
                        }
                    } else {
                        g.iter_mut()
                            .zip(top_data.iter().zip(&bottoms[i].data))
                            .for_each(|(v, (&y, &x))| *v = y / x);
                    }
                    g.iter_mut().zip(top_diff).for_each(|(v, &d)| *v *= d);
                    bottoms[i].diff = g;
                }
                EltwiseOp::Max => {
                    for (idx, g) in bottoms[i].diff.iter_mut().enumerate() {
                        *g = if self.argmax[idx] == i {
                            top_diff[idx]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    const SHAPES: [[usize; 3]; 3] = [[2, 3, 2]; 3];

    fn shapes() -> Vec<Vec<usize>> {
        SHAPES.iter().map(|s| s.to_vec()).collect()
    }

    #[test]
    fn sum_with_coefficients() {
        let mut t = TestLayer::new(
            "type: 'Eltwise' bottom: 'a' bottom: 'b' bottom: 'c' eltwise_param { coeff: [1, -0.5, 2] }",
            Phase::Test,
            &shapes(),
        );
        t.forward();
        let expected =
            t.bottoms[0].data[4] - 0.5 * t.bottoms[1].data[4] + 2.0 * t.bottoms[2].data[4];
        assert!((t.tops[0].data[4] - expected).abs() < 1e-6);
        t.check_gradients(&[true, true, true], false, 1e-2, 1e-2, None);
    }

    #[test]
    fn prod_stable_and_unstable() {
        for stable in [true, false] {
            let text = format!(
                "type: 'Eltwise' bottom: 'a' bottom: 'b' bottom: 'c' eltwise_param {{ operation: PROD stable_prod_grad: {stable} }}"
            );
            let mut t = TestLayer::new(&text, Phase::Test, &shapes());
            t.check_gradients(&[true, true, true], false, 1e-2, 1e-2, None);
        }
    }

    #[test]
    fn max_routes_the_gradient_to_the_winner() {
        let mut t = TestLayer::new(
            "type: 'Eltwise' bottom: 'a' bottom: 'b' bottom: 'c' eltwise_param { operation: MAX }",
            Phase::Test,
            &shapes(),
        );
        t.check_gradients(&[true, true, true], false, 1e-3, 1e-2, None);
        // Ties between the first two go to bottom 1.
        t.bottoms[0].data[0] = 5.0;
        t.bottoms[1].data[0] = 5.0;
        t.forward();
        t.tops[0].diff.iter_mut().for_each(|d| *d = 1.0);
        t.backward(&[true, true, true]);
        assert_eq!((t.bottoms[0].diff[0], t.bottoms[1].diff[0]), (0.0, 1.0));
    }

    #[test]
    fn bad_configurations_are_errors() {
        let p = crate::layers::testing::layer_param(
            "type: 'Eltwise' bottom: 'a' bottom: 'b' eltwise_param { operation: PROD coeff: [1, 2] }",
        );
        assert!(crate::layers::create(&p, &Default::default()).is_err());
        let p = crate::layers::testing::layer_param(
            "type: 'Eltwise' bottom: 'a' bottom: 'b' eltwise_param { coeff: 1 }",
        );
        assert!(crate::layers::create(&p, &Default::default()).is_err());
        let p = crate::layers::testing::layer_param("type: 'Eltwise' bottom: 'a' bottom: 'b'");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3], vec![3, 2]]).is_err());
    }
}
