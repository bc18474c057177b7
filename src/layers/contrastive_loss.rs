//! ContrastiveLoss (siamese nets): for pairs (a, b) with similarity label y,
//! Σ [y·d² + (1−y)·max(margin − d, 0)²] / 2N, where d = ‖a − b‖; the legacy
//! version uses max(margin − d², 0) for dissimilar pairs.

use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{count, Shape};

pub struct ContrastiveLoss {
    margin: f32,
    legacy: bool,
    num: usize,
    channels: usize,
    diff: Vec<f32>,
    dist_sq: Vec<f32>,
}

impl ContrastiveLoss {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.contrastive_loss_param();
        Ok(ContrastiveLoss {
            margin: p.margin(),
            legacy: p.legacy_version(),
            num: 0,
            channels: 0,
            diff: Vec::new(),
            dist_sq: Vec::new(),
        })
    }

    fn similar(label: f32) -> bool {
        label as i32 != 0
    }
}

impl LossFunction for ContrastiveLoss {
    const BOTTOMS: (usize, usize) = (3, 3);

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        let (a, b, y) = (&bottoms[0], &bottoms[1], &bottoms[2]);
        if a.is_empty() || a[0] == 0 || a != b {
            return Err(format!(
                "the two feature bottoms must have the same non-empty shape, got {a:?} and {b:?}"
            ));
        }
        self.num = a[0];
        self.channels = count(a) / self.num;
        if count(y) != self.num {
            return Err(format!(
                "needs one similarity label per pair: {} pairs, label shape {y:?}",
                self.num
            ));
        }
        self.diff = vec![0.0; count(a)];
        self.dist_sq = vec![0.0; self.num];
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], _: &mut [Blob]) -> Result<f32, String> {
        let c = self.channels;
        for ((d, &a), &b) in self
            .diff
            .iter_mut()
            .zip(&bottoms[0].data)
            .zip(&bottoms[1].data)
        {
            *d = a - b;
        }
        let mut loss = 0.0f64;
        for i in 0..self.num {
            let row = &self.diff[i * c..(i + 1) * c];
            let dsq: f32 = row.iter().map(|v| v * v).sum();
            self.dist_sq[i] = dsq;
            let term = if Self::similar(bottoms[2].data[i]) {
                dsq
            } else if self.legacy {
                (self.margin - dsq).max(0.0)
            } else {
                (self.margin - dsq.sqrt()).max(0.0).powi(2)
            };
            loss += f64::from(term);
        }
        Ok((loss / self.num as f64 / 2.0) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        let c = self.channels;
        let labels = bottoms[2].data.clone();
        for (k, bottom) in bottoms.iter_mut().enumerate().take(2) {
            if !propagate_down.get(k).copied().unwrap_or(false) {
                continue;
            }
            let sign = if k == 0 { 1.0 } else { -1.0 };
            let alpha = sign * weight / self.num as f32;
            for (i, &label) in labels.iter().enumerate().take(self.num) {
                let beta = if Self::similar(label) {
                    alpha
                } else if self.legacy {
                    if self.margin - self.dist_sq[i] > 0.0 {
                        -alpha
                    } else {
                        0.0
                    }
                } else {
                    let dist = self.dist_sq[i].sqrt();
                    let mdist = self.margin - dist;
                    if mdist > 0.0 {
                        -alpha * mdist / (dist + 1e-4)
                    } else {
                        0.0
                    }
                };
                let r = i * c..(i + 1) * c;
                for (g, &d) in bottom.diff[r.clone()].iter_mut().zip(&self.diff[r]) {
                    *g = beta * d;
                }
            }
        }
        Ok(())
    }

    fn allow_force_backward(&self, bottom: usize) -> bool {
        bottom != 2
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    fn layer(extra: &str) -> TestLayer {
        let text =
            format!("type: 'ContrastiveLoss' contrastive_loss_param {{ margin: 2 {extra} }}");
        let mut t = TestLayer::new(
            &text,
            Phase::Train,
            &[vec![4, 3, 1, 1], vec![4, 3, 1, 1], vec![4, 1, 1, 1]],
        );
        t.bottoms[2].data = vec![1.0, 0.0, 0.0, 1.0];
        t
    }

    #[test]
    fn value_and_gradients() {
        for extra in ["", "legacy_version: true"] {
            let mut t = layer(extra);
            // The non-legacy gradient uses d + 1e-4 in its denominator, as Caffe does.
            t.check_gradients(&[true, true, false], false, 1e-3, 2e-2, None);
        }
        let mut t = layer("");
        t.bottoms[0].data = vec![1.0, 0.0, 0.0, 0.5, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        t.bottoms[1].data = vec![0.0; 12];
        t.forward();
        // similar d²=1; dissimilar (2−0.5)²; dissimilar d=3 > margin → 0; similar 0.
        assert!((t.tops[0].data[0] - (1.0 + 2.25) / 8.0).abs() < 1e-6);
    }
}
