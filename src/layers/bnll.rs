//! BNLL (binomial normal log likelihood): y = log(1 + e^x), computed stably.

use super::neuron::Elementwise;

/// Caffe caps the exponent of the gradient here (kBNLL_THRESHOLD).
const THRESHOLD: f32 = 50.0;

pub struct Bnll;

impl Elementwise for Bnll {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            let v = x as f64;
            *y = if x > 0.0 {
                v + (1.0 + (-v).exp()).ln()
            } else {
                (1.0 + v.exp()).ln()
            } as f32;
        }
    }

    fn backward(&self, x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            let e = x.min(THRESHOLD).exp();
            *dx = dy * e / (e + 1.0);
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
            r#"type: "BNLL" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![3]],
        );
        t.bottoms[0].data = vec![0.0, 100.0, -100.0];
        t.forward();
        assert!((t.tops[0].data[0] - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(t.tops[0].data[1], 100.0);
        assert!(t.tops[0].data[2] >= 0.0 && t.tops[0].data[2] < 1e-40);
    }

    #[test]
    fn gradients() {
        let mut t = TestLayer::new(
            r#"type: "BNLL" bottom: "x" top: "y""#,
            Phase::Train,
            &[vec![2, 3, 4]],
        );
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }
}
