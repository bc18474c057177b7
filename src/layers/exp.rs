//! Exp: y = base^(shift + scale·x), base e when `base` is −1.

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct Exp {
    /// ln(base) · scale.
    inner_scale: f32,
    /// base^shift.
    outer_scale: f32,
}

impl Exp {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.exp_param();
        let base = p.base();
        if base != -1.0 && base <= 0.0 {
            return Err(format!(
                "exp_param.base must be strictly positive (or -1 for e), not {base}"
            ));
        }
        let log_base = if base == -1.0 { 1.0 } else { base.ln() };
        if !log_base.is_finite() {
            return Err(format!("exp_param.base {base} has no finite logarithm"));
        }
        let outer_scale = if p.shift() == 0.0 {
            1.0
        } else if base == -1.0 {
            p.shift().exp()
        } else {
            base.powf(p.shift())
        };
        Ok(Exp {
            inner_scale: log_base * p.scale(),
            outer_scale,
        })
    }
}

impl Elementwise for Exp {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        let (inner, outer) = (self.inner_scale, self.outer_scale);
        for (y, &x) in y.iter_mut().zip(x) {
            let v = if inner == 1.0 { x } else { inner * x };
            *y = if outer == 1.0 {
                v.exp()
            } else {
                outer * v.exp()
            };
        }
    }

    /// dx = dy · y · ln(base) · scale.
    fn backward(&self, _x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let inner = self.inner_scale;
        for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
            let d = dy * y;
            *dx = if inner == 1.0 { d } else { d * inner };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    #[test]
    fn forward_values() {
        let text = r#"type: "Exp" bottom: "x" top: "y" exp_param { base: 2 scale: 0.5 shift: 1 }"#;
        let mut t = TestLayer::new(text, Phase::Test, &[vec![2]]);
        t.bottoms[0].data = vec![2.0, 4.0];
        t.forward();
        assert!((t.tops[0].data[0] - 4.0).abs() < 1e-5);
        assert!((t.tops[0].data[1] - 8.0).abs() < 1e-5);
    }

    #[test]
    fn gradients() {
        for p in [
            "",
            "exp_param { base: 2 scale: 0.5 shift: 0.1 }",
            "exp_param { scale: -1 shift: 1 }",
        ] {
            let text = format!(r#"type: "Exp" bottom: "x" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 4]]);
            t.check_gradients(&[true], false, 1e-3, 2e-3, None);
        }
    }

    #[test]
    fn bad_base_is_an_error() {
        let p = layer_param(r#"type: "Exp" bottom: "x" top: "y" exp_param { base: -2 }"#);
        assert!(super::Exp::new(&p).is_err());
    }
}
