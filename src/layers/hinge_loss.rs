//! HingeLoss: one-vs-all hinge on scores, L1 (Σ max(0, 1 − δ·x)) or L2 (squared),
//! where δ = +1 for the true class and −1 otherwise; divided by the batch size.

use super::loss_norm::label_index;
use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::{HingeNorm, LayerParameter};
use crate::shape::{count, Shape};

pub struct HingeLoss {
    norm: HingeNorm,
    num: usize,
    dim: usize,
}

impl HingeLoss {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(HingeLoss {
            norm: param.hinge_loss_param().norm(),
            num: 0,
            dim: 0,
        })
    }

    /// max(0, 1 − δ·x) for every score.
    fn margins(&self, scores: &[f32], labels: &[f32]) -> Result<Vec<f32>, String> {
        let mut m = scores.to_vec();
        for n in 0..self.num {
            let l = label_index(labels[n], self.dim)?;
            m[n * self.dim + l] *= -1.0;
        }
        m.iter_mut().for_each(|v| *v = (1.0 + *v).max(0.0));
        Ok(m)
    }
}

impl LossFunction for HingeLoss {
    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        let b = &bottoms[0];
        if b.is_empty() || b[0] == 0 {
            return Err(format!(
                "needs a non-empty batch of scores, got shape {b:?}"
            ));
        }
        self.num = b[0];
        self.dim = count(b) / self.num;
        if count(&bottoms[1]) != self.num {
            return Err(format!(
                "needs one label per item: {} items, {} labels",
                self.num,
                count(&bottoms[1])
            ));
        }
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], _: &mut [Blob]) -> Result<f32, String> {
        let m = self.margins(&bottoms[0].data, &bottoms[1].data)?;
        let sum: f64 = match self.norm {
            HingeNorm::L1 => m.iter().map(|&v| f64::from(v)).sum(),
            HingeNorm::L2 => m.iter().map(|&v| f64::from(v) * f64::from(v)).sum(),
        };
        Ok((sum / self.num as f64) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        if propagate_down.get(1).copied().unwrap_or(false) {
            return Err("HingeLoss cannot backpropagate to label inputs".into());
        }
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let mut m = self.margins(&bottoms[0].data, &bottoms[1].data)?;
        for n in 0..self.num {
            let l = label_index(bottoms[1].data[n], self.dim)?;
            m[n * self.dim + l] *= -1.0;
        }
        let scale = weight / self.num as f32;
        for (g, &v) in bottoms[0].diff.iter_mut().zip(&m) {
            *g = match self.norm {
                HingeNorm::L1 => {
                    let sign = if v > 0.0 {
                        1.0
                    } else if v < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    sign * scale
                }
                HingeNorm::L2 => 2.0 * v * scale,
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn gradients_for_both_norms() {
        for norm in ["L1", "L2"] {
            let text = format!("type: 'HingeLoss' hinge_loss_param {{ norm: {norm} }}");
            let mut t = TestLayer::new(&text, Phase::Test, &[vec![3, 4], vec![3]]);
            t.bottoms[1].data = vec![0.0, 3.0, 1.0];
            // Scores in [-1, 1) keep 1 ± x away from the kink at 0.
            t.check_gradients(&[true, false], false, 1e-3, 1e-2, None);
        }
    }

    #[test]
    fn l1_value() {
        let mut t = TestLayer::new("type: 'HingeLoss'", Phase::Test, &[vec![1, 3], vec![1]]);
        t.bottoms[0].data = vec![0.5, -2.0, 0.25];
        t.bottoms[1].data = vec![0.0];
        t.forward();
        // true class: max(0, 1 − 0.5); others: max(0, 1 + x).
        assert!((t.tops[0].data[0] - (0.5 + 0.0 + 1.25)).abs() < 1e-6);
    }
}
