//! Swish: y = x · sigmoid(beta·x).

use super::neuron::{sigmoid, Elementwise};
use crate::proto::LayerParameter;

pub struct Swish {
    beta: f32,
}

impl Swish {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(Swish {
            beta: param.swish_param().beta(),
        })
    }
}

impl Elementwise for Swish {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let b = self.beta;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * sigmoid(b * x);
        }
    }

    /// dx = dy · (beta·y + s·(1 − beta·y)), s = sigmoid(beta·x).
    fn backward(&self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let b = self.beta;
        for (((dx, &dy), &x), &y) in dx.iter_mut().zip(dy).zip(x).zip(y) {
            let s = sigmoid(b * x);
            let by = b * y;
            *dx = dy * (by + s * (1.0 - by));
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
        let text = r#"type: "Swish" bottom: "x" top: "y" swish_param { beta: 2 }"#;
        let mut t = TestLayer::new(text, Phase::Test, &[vec![2]]);
        t.bottoms[0].data = vec![0.0, 1.0];
        t.forward();
        assert_eq!(t.tops[0].data[0], 0.0);
        assert!((t.tops[0].data[1] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        for p in [
            "",
            "swish_param { beta: 1.5 }",
            "swish_param { beta: -0.5 }",
        ] {
            let text = format!(r#"type: "Swish" bottom: "x" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 4]]);
            t.check_gradients(&[true], false, 1e-2, 1e-3, None);
        }
    }
}
