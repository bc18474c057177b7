//! Power: y = (shift + scale·x)^power, with Caffe's special cases (a constant
//! output when power or scale is 0; cheaper gradients for power 2 and shift 0).

use super::neuron::Elementwise;
use crate::proto::LayerParameter;

pub struct Power {
    power: f32,
    scale: f32,
    shift: f32,
    /// power · scale: the derivative's constant factor.
    diff_scale: f32,
}

impl Power {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.power_param();
        Ok(Power {
            power: p.power(),
            scale: p.scale(),
            shift: p.shift(),
            diff_scale: p.power() * p.scale(),
        })
    }
}

impl Elementwise for Power {
    fn forward(&self, x: &[f32], y: &mut [f32]) {
        if self.diff_scale == 0.0 {
            // The input does not matter: y = shift^power (1 for power 0).
            let v = if self.power == 0.0 {
                1.0
            } else {
                self.shift.powf(self.power)
            };
            y.fill(v);
            return;
        }
        let (a, b, p) = (self.scale, self.shift, self.power);
        for (y, &x) in y.iter_mut().zip(x) {
            let mut v = x;
            if a != 1.0 {
                v *= a;
            }
            if b != 0.0 {
                v += b;
            }
            *y = if p == 1.0 { v } else { v.powf(p) };
        }
    }

    fn backward(&self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<(), String> {
        let (a, b, p, ds) = (self.scale, self.shift, self.power, self.diff_scale);
        if ds == 0.0 {
            dx.fill(0.0);
        } else if p == 1.0 {
            for (dx, &dy) in dx.iter_mut().zip(dy) {
                *dx = ds * dy;
            }
        } else if p == 2.0 {
            // dy/dx = 2·scale·(shift + scale·x) = diff_scale·scale·x + diff_scale·shift.
            for ((dx, &dy), &x) in dx.iter_mut().zip(dy).zip(x) {
                let mut d = ds * a * x;
                if b != 0.0 {
                    d += ds * b;
                }
                *dx = dy * d;
            }
        } else if b == 0.0 {
            // dy/dx = power · y / x.
            for (((dx, &dy), &x), &y) in dx.iter_mut().zip(dy).zip(x).zip(y) {
                *dx = dy * (y / x * p);
            }
        } else {
            // dy/dx = diff_scale · y / (shift + scale·x).
            for (((dx, &dy), &x), &y) in dx.iter_mut().zip(dy).zip(x).zip(y) {
                let mut v = x;
                if a != 1.0 {
                    v *= a;
                }
                v += b;
                let mut d = y / v;
                if ds != 1.0 {
                    d *= ds;
                }
                *dx = dy * d;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    fn layer(p: &str) -> String {
        format!(r#"type: "Power" bottom: "x" top: "y" power_param {{ {p} }}"#)
    }

    #[test]
    fn forward_values() {
        let mut t = TestLayer::new(
            &layer("power: 3 scale: 2 shift: 1"),
            Phase::Test,
            &[vec![2]],
        );
        t.bottoms[0].data = vec![0.5, -1.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![8.0, -1.0]);

        let mut t = TestLayer::new(
            &layer("power: 2 scale: 0 shift: 3"),
            Phase::Test,
            &[vec![2]],
        );
        t.forward();
        assert_eq!(t.tops[0].data, vec![9.0, 9.0]);
        t.tops[0].diff = vec![1.0, 1.0];
        t.backward(&[true]);
        assert_eq!(t.bottoms[0].diff, vec![0.0, 0.0]);
    }

    #[test]
    fn gradients_of_every_branch() {
        // Shifts keep the base positive for the non-integer powers.
        for p in [
            "power: 1 scale: 0.5 shift: 2",
            "power: 2 scale: 0.5 shift: 1.5",
            "power: 2 scale: -1.5",
            "power: 3 scale: 1.5",
            "power: 0.5 scale: 0.5 shift: 2",
            "power: -1.5 scale: 2 shift: 3",
        ] {
            let mut t = TestLayer::new(&layer(p), Phase::Train, &[vec![2, 3, 4]]);
            t.check_gradients(&[true], false, 1e-3, 2e-3, None);
        }
    }
}
