//! Log: y = log_base(shift + scale·x), natural when `base` is −1.

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct Log {
    /// 1 / ln(base).
    base_scale: f32,
    scale: f32,
    shift: f32,
    /// scale / ln(base).
    backward_num_scale: f32,
}

impl Log {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.log_param();
        let base = p.base();
        if base != -1.0 && base <= 0.0 {
            return Err(format!(
                "log_param.base must be strictly positive (or -1 for e), not {base}"
            ));
        }
        let log_base = if base == -1.0 { 1.0 } else { base.ln() };
        let base_scale = 1.0 / log_base;
        if !log_base.is_finite() || !base_scale.is_finite() {
            return Err(format!(
                "log_param.base {base} has no usable logarithm (base 1 divides by ln 1 = 0)"
            ));
        }
        Ok(Log {
            base_scale,
            scale: p.scale(),
            shift: p.shift(),
            backward_num_scale: p.scale() / log_base,
        })
    }

    #[inline]
    fn inner(&self, x: f32) -> f32 {
        let mut v = x;
        if self.scale != 1.0 {
            v *= self.scale;
        }
        if self.shift != 0.0 {
            v += self.shift;
        }
        v
    }
}

impl Elementwise for Log {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            let v = self.inner(x).ln();
            *y = if self.base_scale == 1.0 {
                v
            } else {
                v * self.base_scale
            };
        }
    }

    /// dx = dy · scale / (ln(base) · (shift + scale·x)).
    fn backward(&self, x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let k = self.backward_num_scale;
        for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
            let mut d = 1.0 / self.inner(x);
            if k != 1.0 {
                d *= k;
            }
            *dx = dy * d;
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
        let text = r#"type: "Log" bottom: "x" top: "y" log_param { base: 10 scale: 2 shift: 1 }"#;
        let mut t = TestLayer::new(text, Phase::Test, &[vec![2]]);
        t.bottoms[0].data = vec![4.5, 49.5];
        t.forward();
        assert!((t.tops[0].data[0] - 1.0).abs() < 1e-6);
        assert!((t.tops[0].data[1] - 2.0).abs() < 1e-6);
    }

    #[test]
    fn gradients() {
        // shift 3 keeps shift + scale·x positive for x in [-1, 1).
        for p in [
            "scale: 1 shift: 2",
            "base: 2 scale: 2 shift: 3",
            "scale: -1.5 shift: 2",
        ] {
            let text = format!(r#"type: "Log" bottom: "x" top: "y" log_param {{ {p} }}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 4]]);
            t.check_gradients(&[true], false, 1e-3, 2e-3, None);
        }
    }

    #[test]
    fn bad_base_is_an_error() {
        for b in ["0", "1", "-3"] {
            let p = layer_param(&format!(r#"type: "Log" log_param {{ base: {b} }}"#));
            assert!(super::Log::new(&p).is_err(), "base {b}");
        }
    }
}
