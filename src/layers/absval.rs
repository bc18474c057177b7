//! AbsVal: y = |x|.

use super::neuron::Elementwise;

pub struct AbsVal;

impl Elementwise for AbsVal {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x.abs();
        }
    }

    /// dx = sign(x)·dy, with sign(0) = 0 (Caffe's caffe_cpu_sign).
    fn backward(&self, x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            let sign = ((0.0 < x) as i32 - (x < 0.0) as i32) as f32;
            *dx = sign * dy;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn forward_and_backward_values() {
        let mut t = TestLayer::new(
            r#"type: "AbsVal" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![3]],
        );
        t.bottoms[0].data = vec![-2.0, 0.0, 1.5];
        t.forward();
        assert_eq!(t.tops[0].data, vec![2.0, 0.0, 1.5]);
        t.tops[0].diff = vec![1.0, 1.0, 1.0];
        t.backward(&[true]);
        assert_eq!(t.bottoms[0].diff, vec![-1.0, 0.0, 1.0]);
    }

    #[test]
    fn gradients() {
        let mut t = TestLayer::new(
            r#"type: "AbsVal" bottom: "x" top: "y""#,
            Phase::Train,
            &[vec![2, 3, 4]],
        );
        t.check_gradients(&[true], false, 1e-2, 1e-3, Some((0.0, 0.02)));
    }
}
