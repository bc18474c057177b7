//! Dropout: in TRAIN, y = x · m / (1 − r) with m ~ Bernoulli(1 − r) drawn from the
//! net's generator each forward pass; in TEST, y = x.

use super::neuron::check_same_count;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{LayerParameter, Phase};
use crate::shape::Shape;

pub struct Dropout {
    ratio: f32,
    /// 1 / (1 − ratio).
    scale: f32,
    /// The kept positions of the last TRAIN forward pass.
    mask: Vec<bool>,
}

impl Dropout {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let ratio = param.dropout_param().dropout_ratio();
        if !(ratio > 0.0 && ratio < 1.0) {
            return Err(format!(
                "dropout_param.dropout_ratio must be in (0, 1), not {ratio}"
            ));
        }
        Ok(Dropout {
            ratio,
            scale: (1.0 / (1.0 - ratio as f64)) as f32,
            mask: Vec::new(),
        })
    }
}

impl Layer for Dropout {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(vec![bottoms[0].clone()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _params: &mut [Blob],
        ctx: &mut RunContext,
    ) -> Result<(), String> {
        check_same_count(bottoms[0], &tops[0])?;
        let (x, y) = (&bottoms[0].data, &mut tops[0].data);
        if ctx.phase == Phase::Test {
            y.copy_from_slice(x);
            return Ok(());
        }
        let keep = 1.0 - self.ratio as f64;
        self.mask.clear();
        self.mask
            .extend((0..x.len()).map(|_| ctx.rng.bernoulli(keep)));
        let s = self.scale;
        for ((y, &x), &m) in y.iter_mut().zip(x).zip(&self.mask) {
            *y = if m { x * s } else { 0.0 };
        }
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _params: &mut [Blob],
        ctx: &mut RunContext,
    ) -> Result<(), String> {
        if !propagate_down[0] {
            return Ok(());
        }
        let (dy, dx) = (&tops[0].diff, &mut bottoms[0].diff);
        if dy.len() != dx.len() {
            return Err("top and bottom sizes differ; the layer was not reshaped".into());
        }
        if ctx.phase == Phase::Test {
            dx.copy_from_slice(dy);
            return Ok(());
        }
        if self.mask.len() != dy.len() {
            return Err("backward ran without a matching TRAIN forward pass".into());
        }
        let s = self.scale;
        for ((dx, &dy), &m) in dx.iter_mut().zip(dy).zip(&self.mask) {
            *dx = if m { dy * s } else { 0.0 };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    const TEXT: &str =
        r#"type: "Dropout" bottom: "x" top: "y" dropout_param { dropout_ratio: 0.3 }"#;

    #[test]
    fn test_phase_is_identity() {
        let mut t = TestLayer::new(TEXT, Phase::Test, &[vec![2, 3, 4]]);
        t.forward();
        assert_eq!(t.tops[0].data, t.bottoms[0].data);
        t.tops[0].diff = t.bottoms[0].data.iter().map(|v| v * 3.0).collect();
        t.backward(&[true]);
        assert_eq!(t.bottoms[0].diff, t.tops[0].diff);
    }

    #[test]
    fn train_phase_drops_and_scales() {
        let mut t = TestLayer::new(TEXT, Phase::Train, &[vec![100, 100]]);
        t.bottoms[0].data.iter_mut().for_each(|v| *v = 1.0);
        t.forward();
        let kept = t.tops[0].data.iter().filter(|&&v| v != 0.0).count();
        assert!((kept as f32 / 10_000.0 - 0.7).abs() < 0.02, "kept {kept}");
        for &v in &t.tops[0].data {
            assert!(v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6);
        }
        // The expectation is preserved.
        let mean = t.tops[0].data.iter().sum::<f32>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.03, "{mean}");
        // Backward uses the same mask.
        t.tops[0].diff = vec![1.0; 10_000];
        t.backward(&[true]);
        assert_eq!(t.bottoms[0].diff, t.tops[0].data);
    }

    #[test]
    fn gradients() {
        // The checker replays the same random stream, so every pass sees one mask.
        let mut t = TestLayer::new(TEXT, Phase::Train, &[vec![2, 3, 4]]);
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }

    #[test]
    fn bad_ratio_is_an_error() {
        for r in ["0", "1", "-0.5", "1.5"] {
            let p = layer_param(&format!(
                r#"type: "Dropout" dropout_param {{ dropout_ratio: {r} }}"#
            ));
            assert!(super::Dropout::new(&p).is_err(), "{r}");
        }
    }
}
