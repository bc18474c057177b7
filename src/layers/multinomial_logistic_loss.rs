//! MultinomialLogisticLoss: −Σ log(max(p_label, 1e−20)) / N over probabilities
//! (one row of `dim` per item, one label per item).

use super::loss_norm::label_index;
use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{count, Shape};

/// Caffe's kLOG_THRESHOLD: probabilities are clipped to it before the log.
pub const LOG_THRESHOLD: f32 = 1e-20;

pub struct MultinomialLogisticLoss {
    num: usize,
    dim: usize,
}

impl MultinomialLogisticLoss {
    pub fn new(_: &LayerParameter) -> Result<Self, String> {
        Ok(MultinomialLogisticLoss { num: 0, dim: 0 })
    }
}

impl LossFunction for MultinomialLogisticLoss {
    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        let p = &bottoms[0];
        if p.is_empty() || p[0] == 0 {
            return Err(format!(
                "needs a non-empty batch of probabilities, got {p:?}"
            ));
        }
        self.num = p[0];
        self.dim = count(p) / self.num;
        if count(&bottoms[1]) != self.num {
            return Err(format!(
                "needs one label per item: {} items, label shape {:?}",
                self.num, bottoms[1]
            ));
        }
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], _: &mut [Blob]) -> Result<f32, String> {
        let mut loss = 0.0f64;
        for i in 0..self.num {
            let l = label_index(bottoms[1].data[i], self.dim)?;
            let p = bottoms[0].data[i * self.dim + l].max(LOG_THRESHOLD);
            loss -= f64::from(p.ln());
        }
        Ok((loss / self.num as f64) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        if propagate_down.get(1).copied().unwrap_or(false) {
            return Err("MultinomialLogisticLoss cannot backpropagate to label inputs".into());
        }
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let scale = -weight / self.num as f32;
        let labels = bottoms[1].data.clone();
        let b = &mut bottoms[0];
        b.diff.iter_mut().for_each(|g| *g = 0.0);
        for (i, &label) in labels.iter().enumerate().take(self.num) {
            let at = i * self.dim + label_index(label, self.dim)?;
            b.diff[at] = scale / b.data[at].max(LOG_THRESHOLD);
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
            "type: 'MultinomialLogisticLoss'",
            Phase::Test,
            &[vec![2, 3], vec![2]],
        );
        t.bottoms[0].data = vec![0.2, 0.3, 0.5, 0.6, 0.3, 0.1];
        t.bottoms[1].data = vec![2.0, 0.0];
        t.forward();
        assert!((t.tops[0].data[0] + (0.5f32.ln() + 0.6f32.ln()) / 2.0).abs() < 1e-6);
        t.check_gradients(&[true, false], false, 1e-3, 1e-2, None);
    }
}
