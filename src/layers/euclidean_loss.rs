//! EuclideanLoss: Σ‖a − b‖² / (2N), with gradients to both bottoms.

use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{count, Shape};

pub struct EuclideanLoss {
    num: usize,
    diff: Vec<f32>,
}

impl EuclideanLoss {
    pub fn new(_: &LayerParameter) -> Result<Self, String> {
        Ok(EuclideanLoss {
            num: 0,
            diff: Vec::new(),
        })
    }
}

impl LossFunction for EuclideanLoss {
    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        let (a, b) = (&bottoms[0], &bottoms[1]);
        if count(a) != count(b) || a.is_empty() {
            return Err(format!(
                "inputs must have the same dimension: {a:?} and {b:?}"
            ));
        }
        self.num = a[0];
        self.diff = vec![0.0; count(a)];
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], _: &mut [Blob]) -> Result<f32, String> {
        let mut dot = 0.0f64;
        for ((d, &a), &b) in self
            .diff
            .iter_mut()
            .zip(&bottoms[0].data)
            .zip(&bottoms[1].data)
        {
            *d = a - b;
            dot += f64::from(*d) * f64::from(*d);
        }
        Ok((dot / self.num.max(1) as f64 / 2.0) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        for (i, bottom) in bottoms.iter_mut().enumerate().take(2) {
            if propagate_down.get(i).copied().unwrap_or(false) {
                let sign = if i == 0 { 1.0 } else { -1.0 };
                let alpha = sign * weight / self.num.max(1) as f32;
                for (g, &d) in bottom.diff.iter_mut().zip(&self.diff) {
                    *g = alpha * d;
                }
            }
        }
        Ok(())
    }

    /// Both bottoms are predictions here: either may be asked for its gradient.
    fn allow_force_backward(&self, _: usize) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn value_and_gradients() {
        let mut t = TestLayer::new(
            "type: 'EuclideanLoss'",
            Phase::Test,
            &[vec![2, 3], vec![2, 3]],
        );
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0];
        t.bottoms[1].data = vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        t.forward();
        assert!((t.tops[0].data[0] - (14.0 + 3.0) / 4.0).abs() < 1e-6);
        t.check_gradients(&[true, true], false, 1e-2, 1e-2, None);
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let p = crate::layers::testing::layer_param("type: 'EuclideanLoss'");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3], vec![2, 4]]).is_err());
        assert!(l.reshape(&[vec![2, 3], vec![3, 2]]).is_err());
    }
}
