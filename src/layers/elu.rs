//! ELU: y = x for x > 0, alpha·(e^x − 1) otherwise.

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct Elu {
    alpha: f32,
}

impl Elu {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(Elu {
            alpha: param.elu_param().alpha(),
        })
    }
}

impl Elementwise for Elu {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let a = self.alpha;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x.max(0.0) + a * (x.min(0.0).exp() - 1.0);
        }
    }

    /// dx = dy for x > 0, dy·(y + alpha) otherwise.
    fn backward(&self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let a = self.alpha;
        for (((dx, &dy), &x), &y) in dx.iter_mut().zip(dy).zip(x).zip(y) {
            *dx = if x > 0.0 { dy } else { dy * (a + y) };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    const ELU: &str = r#"type: "ELU" bottom: "x" top: "y" elu_param { alpha: 0.7 }"#;

    #[test]
    fn forward_values() {
        let mut t = TestLayer::new(ELU, Phase::Test, &[vec![2]]);
        t.bottoms[0].data = vec![2.0, -1.0];
        t.forward();
        assert_eq!(t.tops[0].data[0], 2.0);
        assert!((t.tops[0].data[1] - 0.7 * ((-1.0f32).exp() - 1.0)).abs() < 1e-7);
    }

    #[test]
    fn gradients() {
        let mut t = TestLayer::new(ELU, Phase::Train, &[vec![2, 3, 4]]);
        t.check_gradients(&[true], false, 1e-2, 1e-3, Some((0.0, 0.02)));
    }
}
