//! SoftmaxWithLoss: softmax over `softmax_param.axis`, then the mean negative log
//! likelihood of the labels, normalised as `loss_param` says (VALID by default).
//! An optional second top receives the probabilities.

use super::loss_norm::{label_index, normalization_mode, normalizer};
use super::softmax_math::softmax_forward;
use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::{LayerParameter, NormalizationMode};
use crate::shape::{canonical_axis, count, split_at_axis, Shape};

pub struct SoftmaxWithLoss {
    axis: i32,
    ignore_label: Option<i32>,
    mode: NormalizationMode,
    dims: (usize, usize, usize),
    prob: Vec<f32>,
}

impl SoftmaxWithLoss {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        Ok(SoftmaxWithLoss {
            axis: param.softmax_param().axis(),
            ignore_label: param.loss_param().ignore_label,
            mode: normalization_mode(param, NormalizationMode::Valid),
            dims: (0, 0, 0),
            prob: Vec::new(),
        })
    }

    fn ignored(&self, label: f32) -> bool {
        self.ignore_label.is_some_and(|l| label as i32 == l)
    }
}

impl LossFunction for SoftmaxWithLoss {
    const SECOND_TOP: bool = true;

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        let axis = canonical_axis(self.axis, bottoms[0].len())?;
        self.dims = split_at_axis(&bottoms[0], axis);
        let (o, _, i) = self.dims;
        if o * i != count(&bottoms[1]) {
            return Err(format!(
                "number of labels must match number of predictions; e.g., if softmax axis == 1 \
                 and prediction shape is (N, C, H, W), label count (number of labels) must be N*H*W, \
                 with integer values in {{0, 1, ..., C-1}} — predictions {:?} give {} positions, labels {:?} have {}",
                bottoms[0],
                o * i,
                bottoms[1],
                count(&bottoms[1])
            ));
        }
        self.prob = vec![0.0; count(&bottoms[0])];
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], tops: &mut [Blob]) -> Result<f32, String> {
        let (o, c, i) = self.dims;
        softmax_forward(&bottoms[0].data, &mut self.prob, o, c, i);
        let labels = &bottoms[1].data;
        let mut loss = 0.0f64;
        let mut valid = 0usize;
        for n in 0..o {
            for k in 0..i {
                let label = labels[n * i + k];
                if self.ignored(label) {
                    continue;
                }
                let l = label_index(label, c)?;
                let p = self.prob[(n * c + l) * i + k].max(f32::MIN_POSITIVE);
                loss -= f64::from(p.ln());
                valid += 1;
            }
        }
        if let Some(t) = tops.get_mut(1) {
            t.data.copy_from_slice(&self.prob);
        }
        Ok((loss / f64::from(normalizer(self.mode, o, i, valid))) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        if propagate_down.get(1).copied().unwrap_or(false) {
            return Err("SoftmaxWithLoss cannot backpropagate to label inputs".into());
        }
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let (o, c, i) = self.dims;
        let labels = bottoms[1].data.clone();
        let diff = &mut bottoms[0].diff;
        diff.copy_from_slice(&self.prob);
        let mut valid = 0usize;
        for n in 0..o {
            for k in 0..i {
                let label = labels[n * i + k];
                if self.ignored(label) {
                    for ch in 0..c {
                        diff[(n * c + ch) * i + k] = 0.0;
                    }
                } else {
                    diff[(n * c + label_index(label, c)?) * i + k] -= 1.0;
                    valid += 1;
                }
            }
        }
        let scale = weight / normalizer(self.mode, o, i, valid);
        diff.iter_mut().for_each(|d| *d *= scale);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    fn with_labels(text: &str, shapes: &[Vec<usize>], labels: &[f32]) -> TestLayer {
        let mut t = TestLayer::new(text, Phase::Test, shapes);
        t.bottoms[1].data.copy_from_slice(labels);
        t
    }

    #[test]
    fn gradients_match_for_every_normalization() {
        for norm in ["FULL", "VALID", "BATCH_SIZE", "NONE"] {
            let text = format!(
                "type: 'SoftmaxWithLoss' loss_param {{ ignore_label: 1 normalization: {norm} }}"
            );
            let mut t = with_labels(&text, &[vec![2, 3, 2], vec![2, 2]], &[0.0, 1.0, 2.0, 2.0]);
            t.check_gradients(&[true, false], false, 1e-2, 1e-2, None);
        }
    }

    #[test]
    fn loss_is_mean_nll_and_prob_top_is_softmax() {
        let mut t = with_labels(
            "type: 'SoftmaxWithLoss' top: 'loss' top: 'prob'",
            &[vec![2, 3], vec![2]],
            &[2.0, 0.0],
        );
        t.bottoms[0]
            .data
            .copy_from_slice(&[0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
        t.forward();
        let z = 1f32.exp() + 2f32.exp() + 3f32.exp();
        let expected = ((3.0f32).ln() + (z.ln() - 1.0)) / 2.0;
        assert!((t.tops[0].data[0] - expected).abs() < 1e-5);
        assert!((t.tops[1].data[3] - 1f32.exp() / z).abs() < 1e-6);
        // The loss weight in the top diff scales the gradient.
        t.tops[0].diff[0] = 3.0;
        t.backward(&[true, false]);
        assert!((t.bottoms[0].diff[2] - 3.0 * (1.0 / 3.0 - 1.0) / 2.0).abs() < 1e-6);
    }

    #[test]
    fn bad_labels_are_errors() {
        let p = crate::layers::testing::layer_param("type: 'SoftmaxWithLoss'");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3], vec![3]]).is_err());
        assert!(l.reshape(&[vec![2, 3, 2], vec![2, 1, 3]]).is_err());
        let mut t = with_labels(
            "type: 'SoftmaxWithLoss'",
            &[vec![2, 3], vec![2]],
            &[0.0, 3.0],
        );
        let bottoms: Vec<&crate::blob::Blob> = t.bottoms.iter().collect();
        let mut ctx = crate::layers::RunContext {
            phase: Phase::Test,
            rng: &mut t.rng,
            param_propagate: &[],
        };
        assert!(t
            .layer
            .forward(&bottoms, &mut t.tops, &mut [], &mut ctx)
            .is_err());
    }
}
