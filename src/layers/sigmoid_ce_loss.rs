//! SigmoidCrossEntropyLoss: the cross-entropy of sigmoid(x) against targets in
//! [0, 1], computed in Caffe's stable form; BATCH_SIZE normalization by default,
//! positions whose target equals `ignore_label` skipped.

use super::loss_norm::{normalization_mode, normalizer};
use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::{LayerParameter, NormalizationMode};
use crate::shape::{count, Shape};

pub struct SigmoidCrossEntropyLoss {
    ignore_label: Option<i32>,
    mode: NormalizationMode,
    outer: usize,
    inner: usize,
    norm: f32,
}

impl SigmoidCrossEntropyLoss {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(SigmoidCrossEntropyLoss {
            ignore_label: param.loss_param().ignore_label,
            mode: normalization_mode(param, NormalizationMode::BatchSize),
            outer: 0,
            inner: 0,
            norm: 1.0,
        })
    }

    fn ignored(&self, target: f32) -> bool {
        self.ignore_label.is_some_and(|l| target as i32 == l)
    }
}

/// Caffe's sigmoid (its Sigmoid layer computes 0.5·tanh(0.5x) + 0.5).
fn sigmoid(x: f32) -> f32 {
    0.5 * (0.5 * x).tanh() + 0.5
}

impl LossFunction for SigmoidCrossEntropyLoss {
    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        if count(&bottoms[0]) != count(&bottoms[1]) || bottoms[0].is_empty() {
            return Err(format!(
                "inputs must have the same count, but have shapes {:?} and {:?}",
                bottoms[0], bottoms[1]
            ));
        }
        self.outer = bottoms[0][0];
        self.inner = count(&bottoms[0][1..]);
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], _: &mut [Blob]) -> Result<f32, String> {
        let mut loss = 0.0f64;
        let mut valid = 0usize;
        for (&x, &t) in bottoms[0].data.iter().zip(&bottoms[1].data) {
            if self.ignored(t) {
                continue;
            }
            let pos = if x >= 0.0 { 1.0 } else { 0.0 };
            let term = x * (t - pos) - (1.0 + (x - 2.0 * x * pos).exp()).ln();
            loss -= f64::from(term);
            valid += 1;
        }
        self.norm = normalizer(self.mode, self.outer, self.inner, valid);
        Ok((loss / f64::from(self.norm)) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        if propagate_down.get(1).copied().unwrap_or(false) {
            return Err("SigmoidCrossEntropyLoss cannot backpropagate to label inputs".into());
        }
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let scale = weight / self.norm;
        let targets = bottoms[1].data.clone();
        let b = &mut bottoms[0];
        for ((g, &x), &t) in b.diff.iter_mut().zip(&b.data).zip(&targets) {
            *g = if self.ignored(t) {
                0.0
            } else {
                (sigmoid(x) - t) * scale
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
    fn value_and_gradients() {
        let mut t = TestLayer::new(
            "type: 'SigmoidCrossEntropyLoss'",
            Phase::Test,
            &[vec![2, 3], vec![2, 3]],
        );
        t.bottoms[0].data = vec![0.5, -2.0, 30.0, -30.0, 0.0, 1.0];
        t.bottoms[1].data = vec![1.0, 0.0, 1.0, 0.0, 0.5, 0.25];
        t.forward();
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        let ce = |x: f64, p: f64| -(p * s(x).ln() + (1.0 - p) * (1.0 - s(x)).ln());
        let expected = (ce(0.5, 1.0)
            + ce(-2.0, 0.0)
            + ce(30.0, 1.0)
            + ce(-30.0, 0.0)
            + ce(0.0, 0.5)
            + ce(1.0, 0.25))
            / 2.0;
        assert!(
            (f64::from(t.tops[0].data[0]) - expected).abs() < 1e-5,
            "{}",
            t.tops[0].data[0]
        );
        t.check_gradients(&[true, false], false, 1e-2, 1e-2, None);
    }

    #[test]
    fn ignored_targets_and_valid_normalization() {
        let mut t = TestLayer::new(
            "type: 'SigmoidCrossEntropyLoss' loss_param { ignore_label: -1 normalization: VALID }",
            Phase::Test,
            &[vec![2, 2], vec![2, 2]],
        );
        t.bottoms[1].data = vec![1.0, -1.0, 0.0, -1.0];
        t.check_gradients(&[true, false], false, 1e-2, 1e-2, None);
        t.tops[0].diff[0] = 1.0;
        t.backward(&[true, false]);
        assert_eq!((t.bottoms[0].diff[1], t.bottoms[0].diff[3]), (0.0, 0.0));
    }
}
