//! TanH: y = tanh(x).

use super::neuron::Elementwise;

pub struct TanH;

impl Elementwise for TanH {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x.tanh();
        }
    }

    fn backward(&self, _x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
            *dx = dy * (1.0 - y * y);
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
            r#"type: "TanH" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![2]],
        );
        t.bottoms[0].data = vec![0.5, -30.0];
        t.forward();
        assert!((t.tops[0].data[0] - 0.462_117_16).abs() < 1e-6);
        assert_eq!(t.tops[0].data[1], -1.0);
    }

    #[test]
    fn gradients() {
        let mut t = TestLayer::new(
            r#"type: "TanH" bottom: "x" top: "y""#,
            Phase::Train,
            &[vec![2, 3, 4]],
        );
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }
}
