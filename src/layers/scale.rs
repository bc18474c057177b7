//! Scale: y = x · s (+ b when `bias_term`), with s broadcast over bottom 0 from
//! `axis` on. s is the second bottom, or a learned blob covering `num_axes` axes
//! (−1: all the rest); the bias is always learned and shaped like s.

use super::bias::{check_operand, filler_or_constant, learned_shape, Broadcast};
use super::neuron::check_same_count;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{FillerParameter, LayerParameter};
use crate::rng::Rng;
use crate::shape::Shape;

pub struct Scale {
    axis: i32,
    num_axes: i32,
    filler: FillerParameter,
    bias_filler: Option<FillerParameter>,
    /// The operand's shape, fixed by the first reshape.
    operand: Option<Shape>,
    /// Whether s is a learned blob (one bottom) rather than bottom 1.
    learned: bool,
    broadcast: Option<Broadcast>,
}

impl Scale {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.scale_param();
        if p.num_axes() < -1 {
            return Err(format!(
                "scale_param.num_axes must be -1 or ≥ 0, not {}",
                p.num_axes()
            ));
        }
        let bias_filler = if p.bias_term() {
            Some(filler_or_constant(
                &p.bias_filler,
                0.0,
                "scale_param.bias_filler",
            )?)
        } else {
            None
        };
        Ok(Scale {
            axis: p.axis(),
            num_axes: p.num_axes(),
            filler: filler_or_constant(&p.filler, 1.0, "scale_param.filler")?,
            bias_filler,
            operand: None,
            learned: true,
            broadcast: None,
        })
    }

    fn broadcast(&self, bottom: &Blob) -> Result<Broadcast, String> {
        let bc = self.broadcast.ok_or("the layer ran before reshape")?;
        if bc.count() != bottom.count() {
            return Err("the bottom changed size since reshape".into());
        }
        Ok(bc)
    }

    /// Index of the bias blob among the params, when there is one.
    fn bias_index(&self) -> Option<usize> {
        self.bias_filler
            .as_ref()
            .map(|_| if self.learned { 1 } else { 0 })
    }
}

impl Layer for Scale {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, 2), (1, 1))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        self.learned = bottoms.len() == 1;
        let operand = if self.learned {
            match &self.operand {
                Some(s) => s.clone(),
                None => learned_shape(&bottoms[0], self.axis, self.num_axes)?,
            }
        } else {
            bottoms[1].clone()
        };
        self.broadcast = Some(Broadcast::new(&bottoms[0], &operand, self.axis)?);
        if self.learned || self.operand.is_none() {
            self.operand = Some(operand);
        }
        Ok(vec![bottoms[0].clone()])
    }

    /// [scale] when learned, then [bias] when `bias_term`; both shaped like s.
    fn param_shapes(&self) -> Vec<Shape> {
        let s = self.operand.clone().unwrap_or_default();
        let mut shapes = Vec::new();
        if self.learned {
            shapes.push(s.clone());
        }
        if self.bias_filler.is_some() {
            shapes.push(s);
        }
        shapes
    }

    fn fill_params(&self, params: &mut [Blob], rng: &mut Rng) {
        if self.learned {
            if let Some(p) = params.first_mut() {
                crate::fillers::fill(&self.filler, p, rng);
            }
        }
        if let (Some(i), Some(f)) = (self.bias_index(), &self.bias_filler) {
            if let Some(p) = params.get_mut(i) {
                crate::fillers::fill(f, p, rng);
            }
        }
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let bc = self.broadcast(bottoms[0])?;
        check_same_count(bottoms[0], &tops[0])?;
        if params.len() != self.param_shapes().len() {
            return Err("the layer's blobs are missing".into());
        }
        let s = if self.learned {
            &params[0].data
        } else {
            &bottoms[1].data
        };
        check_operand(s.len(), &bc, "scale")?;
        let y = &mut tops[0].data;
        match self.bias_index() {
            Some(i) => {
                let b = &params[i].data;
                check_operand(b.len(), &bc, "bias")?;
                // Caffe multiplies, then adds the bias: the same roundings in one pass.
                bc.map2(&bottoms[0].data, s, b, y, |x, s, b| x * s + b);
            }
            None => bc.map(&bottoms[0].data, s, y, |x, s| x * s),
        }
        Ok(())
    }

    /// Parameter gradients accumulate (the Layer contract). Caffe's Scale overwrites
    /// its scale gradient in some shapes (outer or inner size 1); with the solver
    /// clearing gradients each iteration this only differs under iter_size > 1, where
    /// accumulating is the intended behaviour.
    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let dy = &tops[0].diff;
        let bc = self.broadcast(&bottoms[0])?;
        check_same_count(&bottoms[0], tops[0])?;
        if params.len() != self.param_shapes().len() {
            return Err("the layer's blobs are missing".into());
        }
        if let Some(i) = self.bias_index() {
            check_operand(params[i].count(), &bc, "bias")?;
            bc.reduce(dy, None, &mut params[i].diff, true);
        }
        // ∂/∂s = Σ dy·x.
        if self.learned {
            check_operand(params[0].count(), &bc, "scale")?;
            bc.reduce(dy, Some(&bottoms[0].data), &mut params[0].diff, true);
        } else if propagate_down.get(1).copied().unwrap_or(false) {
            let (x, s) = bottoms.split_at_mut(1);
            check_operand(s[0].count(), &bc, "scale")?;
            bc.reduce(dy, Some(&x[0].data), &mut s[0].diff, false);
        }
        if propagate_down[0] {
            let (x, rest) = bottoms.split_at_mut(1);
            let s = if self.learned {
                &params[0].data
            } else {
                &rest[0].data
            };
            check_operand(s.len(), &bc, "scale")?;
            bc.map(dy, s, &mut x[0].diff, |dy, s| dy * s);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::blob::Blob;
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::layers::Layer;
    use crate::proto::Phase;
    use crate::rng::Rng;

    #[test]
    fn default_fillers_are_one_and_zero() {
        let p =
            layer_param(r#"type: "Scale" bottom: "x" top: "y" scale_param { bias_term: true }"#);
        let mut l = super::Scale::new(&p).unwrap();
        l.reshape(&[vec![2, 3, 4]]).unwrap();
        assert_eq!(l.param_shapes(), vec![vec![3], vec![3]]);
        let mut params = vec![Blob::new(&[3]), Blob::new(&[3])];
        params[1].data = vec![5.0; 3];
        l.fill_params(&mut params, &mut Rng::new(1));
        assert_eq!(params[0].data, vec![1.0; 3]);
        assert_eq!(params[1].data, vec![0.0; 3]);
    }

    #[test]
    fn forward_values() {
        let text = r#"type: "Scale" bottom: "x" top: "y" scale_param { bias_term: true }"#;
        let mut t = TestLayer::new(text, Phase::Test, &[vec![1, 2, 2]]);
        t.params[0].data = vec![2.0, -1.0];
        t.params[1].data = vec![0.5, 1.0];
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![2.5, 4.5, -2.0, -3.0]);
    }

    #[test]
    fn gradients_learned() {
        for p in [
            "",
            "scale_param { bias_term: true }",
            "scale_param { num_axes: 0 bias_term: true }",
            "scale_param { axis: 0 num_axes: -1 }",
            "scale_param { axis: -1 bias_term: true }",
            "scale_param { axis: 1 num_axes: 2 }",
        ] {
            let text = format!(r#"type: "Scale" bottom: "x" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 2, 2]]);
            t.check_gradients(&[true], true, 1e-2, 1e-3, None);
        }
    }

    #[test]
    fn gradients_two_bottoms() {
        for (p, s) in [
            ("", vec![3, 2]),
            ("scale_param { bias_term: true }", vec![3]),
            ("scale_param { axis: 0 }", vec![2, 3, 2]),
            ("", vec![]),
        ] {
            let text = format!(r#"type: "Scale" bottom: "x" bottom: "s" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 2], s]);
            t.check_gradients(&[true, true], true, 1e-2, 1e-3, None);
        }
    }

    #[test]
    fn mismatched_operand_is_an_error() {
        let p = layer_param(r#"type: "Scale" bottom: "x" bottom: "s" top: "y""#);
        let mut l = super::Scale::new(&p).unwrap();
        assert!(l.reshape(&[vec![2, 3, 4], vec![4]]).is_err());
        let p = layer_param(r#"type: "Scale" scale_param { num_axes: 3 }"#);
        let mut l = super::Scale::new(&p).unwrap();
        assert!(l.reshape(&[vec![2, 3, 4]]).is_err());
    }
}
