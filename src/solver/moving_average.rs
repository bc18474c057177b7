//! Moving-average weights (the solver extension `moving_average_decay`, not in
//! Caffe): an exponential average of every learnable blob, kept beside the
//! training weights as TensorFlow's ExponentialMovingAverage keeps its shadow
//! variables. After update n (n = 1 for the first):
//!
//! ```text
//! d      = min(decay, (1 + n) / (10 + n))    // TF's num_updates warm-up
//! shadow = d · shadow + (1 − d) · weight
//! ```
//!
//! The shadow starts as the initial weights. The warm-up keeps the first updates
//! from being dominated by the random initialisation (with decay 0.999 and no
//! warm-up, the average would still be ~37% initial weights after 1000 updates).

use crate::blob::Blob;

#[derive(Debug, Clone)]
pub struct MovingAverage {
    decay: f32,
    /// One shadow array per learnable blob, in the net's parameter order.
    shadow: Vec<Vec<f32>>,
}

impl MovingAverage {
    /// A shadow of `params` as they are now.
    pub fn new(decay: f32, params: &[Blob]) -> Self {
        MovingAverage {
            decay,
            shadow: params.iter().map(|p| p.data.clone()).collect(),
        }
    }

    /// The decay used for update `n` (1-based).
    pub fn decay_at(&self, n: i32) -> f32 {
        let n = n.max(0) as f32;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Folds the weights after update `n` into the average.
    pub fn update(&mut self, n: i32, params: &[Blob]) {
        let d = self.decay_at(n);
        for (shadow, p) in self.shadow.iter_mut().zip(params) {
            for (s, &w) in shadow.iter_mut().zip(&p.data) {
                *s = d * *s + (1.0 - d) * w;
            }
        }
    }

    /// Exchanges the averaged and the live weights: call once to put the average
    /// in the net (for a test pass or a snapshot), again to take it back out.
    pub fn swap(&mut self, params: &mut [Blob]) {
        for (shadow, p) in self.shadow.iter_mut().zip(params) {
            std::mem::swap(shadow, &mut p.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(values: &[f32]) -> Blob {
        let mut b = Blob::new(&[values.len()]);
        b.data.copy_from_slice(values);
        b
    }

    #[test]
    fn follows_the_formula_with_warm_up() {
        let mut params = vec![blob(&[1.0, -2.0])];
        let mut ema = MovingAverage::new(0.5, &params);
        assert!((ema.decay_at(1) - 2.0 / 11.0).abs() < 1e-7);
        assert_eq!(ema.decay_at(100), 0.5);
        let mut expected = [1.0f32, -2.0];
        for n in 1..=20 {
            params[0].data = vec![n as f32, 3.0 * n as f32];
            ema.update(n, &params);
            let d = (0.5f32).min((1.0 + n as f32) / (10.0 + n as f32));
            expected[0] = d * expected[0] + (1.0 - d) * n as f32;
            expected[1] = d * expected[1] + (1.0 - d) * 3.0 * n as f32;
        }
        ema.swap(&mut params);
        assert_eq!(params[0].data, expected);
        ema.swap(&mut params);
        assert_eq!(params[0].data, [20.0, 60.0]);
    }
}
