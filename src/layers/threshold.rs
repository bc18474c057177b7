//! Threshold: y = 1 if x > threshold, else 0. It has no gradient: as in Caffe,
//! asking for one is an error (and `force_backward` does not ask).

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct Threshold {
    threshold: f32,
}

impl Threshold {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(Threshold {
            threshold: param.threshold_param().threshold(),
        })
    }
}

impl Elementwise for Threshold {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let t = self.threshold;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = if x > t { 1.0 } else { 0.0 };
        }
    }

    fn backward(&self, _: &[f32], _: &[f32], _: &[f32], _: &mut [f32]) -> Result<(), String> {
        Err("Threshold has no gradient; set propagate_down: false for its bottom".into())
    }

    fn has_gradient(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::blob::Blob;
    use crate::layers::testing::TestLayer;
    use crate::layers::RunContext;
    use crate::proto::Phase;
    use crate::rng::Rng;

    const TEXT: &str =
        r#"type: "Threshold" bottom: "x" top: "y" threshold_param { threshold: 0.2 }"#;

    #[test]
    fn forward_values() {
        let mut t = TestLayer::new(TEXT, Phase::Test, &[vec![4]]);
        t.bottoms[0].data = vec![-1.0, 0.2, 0.2001, 5.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn backward_is_refused_unless_not_asked() {
        let mut t = TestLayer::new(TEXT, Phase::Train, &[vec![3]]);
        assert!(!t.layer.allow_force_backward(0));
        t.forward();
        let tops: Vec<&Blob> = t.tops.iter().collect();
        let mut rng = Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Train,
            rng: &mut rng,
            param_propagate: &[],
        };
        assert!(t
            .layer
            .backward(&tops, &[false], &mut t.bottoms, &mut [], &mut ctx)
            .is_ok());
        assert!(t
            .layer
            .backward(&tops, &[true], &mut t.bottoms, &mut [], &mut ctx)
            .is_err());
    }
}
