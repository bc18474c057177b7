//! Clip: y = min(max(x, min), max); the gradient passes where min ≤ x ≤ max.

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct Clip {
    min: f32,
    max: f32,
}

impl Clip {
    /// `min` and `max` are required, as in Caffe's schema.
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.clip_param.clone().unwrap_or_default();
        match (p.min, p.max) {
            (Some(min), Some(max)) => Ok(Clip { min, max }),
            _ => Err("clip_param needs both `min` and `max`".into()),
        }
    }
}

impl Elementwise for Clip {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (lo, hi) = (self.min, self.max);
        for (y, &x) in y.iter_mut().zip(x) {
            // Caffe's std::max(min, std::min(x, max)).
            let v = if hi < x { hi } else { x };
            *y = if lo < v { v } else { lo };
        }
    }

    fn backward(&self, x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let (lo, hi) = (self.min, self.max);
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            *dx = if x >= lo && x <= hi { dy } else { 0.0 };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    const TEXT: &str = r#"type: "Clip" bottom: "x" top: "y" clip_param { min: -0.3 max: 0.4 }"#;

    #[test]
    fn forward_and_backward_values() {
        let mut t = TestLayer::new(TEXT, Phase::Test, &[vec![4]]);
        t.bottoms[0].data = vec![-1.0, -0.3, 0.1, 0.5];
        t.forward();
        assert_eq!(t.tops[0].data, vec![-0.3, -0.3, 0.1, 0.4]);
        t.tops[0].diff = vec![2.0; 4];
        t.backward(&[true]);
        assert_eq!(t.bottoms[0].diff, vec![0.0, 2.0, 2.0, 0.0]);
    }

    #[test]
    fn gradients() {
        let mut t = TestLayer::new(TEXT, Phase::Train, &[vec![2, 3, 4]]);
        t.check_gradients(&[true], false, 1e-3, 1e-3, Some((-0.3, 0.01)));
        let mut t = TestLayer::new(TEXT, Phase::Train, &[vec![2, 3, 4]]);
        t.check_gradients(&[true], false, 1e-3, 1e-3, Some((0.4, 0.01)));
    }

    #[test]
    fn bounds_are_required() {
        let p = layer_param(r#"type: "Clip" clip_param { min: 1 }"#);
        assert!(super::Clip::new(&p).is_err());
        let p = layer_param(r#"type: "Clip""#);
        assert!(super::Clip::new(&p).is_err());
    }
}
