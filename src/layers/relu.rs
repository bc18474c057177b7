//! ReLU: y = max(x, 0) + negative_slope · min(x, 0) (leaky when the slope is
//! non-zero).

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct ReLU {
    negative_slope: f32,
}

impl ReLU {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(ReLU {
            negative_slope: param.relu_param().negative_slope(),
        })
    }
}

impl Elementwise for ReLU {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let s = self.negative_slope;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x.max(0.0) + s * x.min(0.0);
        }
    }

    /// The gradient at 0 is the negative slope (Caffe tests x > 0).
    fn backward(&self, x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let s = self.negative_slope;
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            *dx = if x > 0.0 { dy } else { dy * s };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn forward_values() {
        let mut t = TestLayer::new(
            r#"type: "ReLU" bottom: "x" top: "y" relu_param { negative_slope: 0.25 }"#,
            Phase::Test,
            &[vec![4]],
        );
        t.bottoms[0].data = vec![-2.0, -0.0, 0.5, 3.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![-0.5, 0.0, 0.5, 3.0]);
    }

    #[test]
    fn gradients() {
        for text in [
            r#"type: "ReLU" bottom: "x" top: "y""#,
            r#"type: "ReLU" bottom: "x" top: "y" relu_param { negative_slope: 0.1 }"#,
        ] {
            let mut t = TestLayer::new(text, Phase::Train, &[vec![2, 3, 4, 5]]);
            t.check_gradients(&[true], false, 1e-2, 1e-3, Some((0.0, 0.02)));
        }
    }
}
