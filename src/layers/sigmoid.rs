//! Sigmoid: y = 1 / (1 + e^−x), computed as Caffe does (0.5·tanh(0.5·x) + 0.5).

use super::neuron::{sigmoid, Elementwise};

pub struct Sigmoid;

impl Elementwise for Sigmoid {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = sigmoid(x);
        }
    }

    fn backward(&self, _x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
            *dx = dy * y * (1.0 - y);
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
            r#"type: "Sigmoid" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![3]],
        );
        t.bottoms[0].data = vec![0.0, 2.0, -100.0];
        t.forward();
        assert_eq!(t.tops[0].data[0], 0.5);
        assert!((t.tops[0].data[1] - 0.880_797_1).abs() < 1e-6);
        assert_eq!(t.tops[0].data[2], 0.0);
    }

    #[test]
    fn gradients() {
        let mut t = TestLayer::new(
            r#"type: "Sigmoid" bottom: "x" top: "y""#,
            Phase::Train,
            &[vec![2, 3, 4]],
        );
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }
}
