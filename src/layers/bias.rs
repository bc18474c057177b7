//! Bias: y = x + b, with b broadcast over bottom 0 from `axis` on. b is the second
//! bottom, or a learned blob covering `num_axes` axes (−1: all the rest). Scale
//! reuses the broadcasting helpers here for its multiplier and its own bias term.

use rayon::prelude::*;

use super::neuron::check_same_count;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{FillerParameter, LayerParameter};
use crate::rng::Rng;
use crate::shape::{canonical_axis, Shape};

/// How an operand of shape bottom[axis .. axis + k] broadcasts over bottom 0,
/// seen as (outer, dim, inner) with the operand's `dim` values along the middle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broadcast {
    pub outer: usize,
    pub dim: usize,
    pub inner: usize,
}

impl Broadcast {
    /// Caffe's Bias/Scale Reshape: the operand's axes must match bottom 0's from
    /// `axis` (any axis for a scalar operand, which Caffe treats as axis 0).
    pub fn new(bottom: &[usize], operand: &[usize], axis: i32) -> Result<Self, String> {
        let axis = if operand.is_empty() {
            0
        } else {
            canonical_axis(axis, bottom.len())?
        };
        let end = axis + operand.len();
        if end > bottom.len() || bottom[axis..end] != *operand {
            return Err(format!(
                "operand of shape {operand:?} does not match bottom shape {bottom:?} from axis {axis}"
            ));
        }
        Ok(Broadcast {
            outer: bottom[..axis].iter().product(),
            dim: operand.iter().product(),
            inner: bottom[end..].iter().product(),
        })
    }

    /// Number of values of the broadcast-over blob.
    pub fn count(&self) -> usize {
        self.outer * self.dim * self.inner
    }

    /// Applies `f(x, operand value)` to every value: y = f(x, w[d]), in parallel
    /// over runs of whole `inner` blocks.
    pub fn map(&self, x: &[f32], w: &[f32], y: &mut [f32], f: impl Fn(f32, f32) -> f32 + Sync) {
        self.map2(x, w, w, y, |x, w, _| f(x, w));
    }

    /// y = f(x, w[d], b[d]): two operands of the same broadcast in one pass.
    pub fn map2(
        &self,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        y: &mut [f32],
        f: impl Fn(f32, f32, f32) -> f32 + Sync,
    ) {
        if self.inner == 0 || self.dim == 0 {
            return;
        }
        let task = crate::kernels::parallel::task_len(y.len(), self.inner);
        let blocks_per_task = task / self.inner;
        y.par_chunks_mut(task)
            .zip(x.par_chunks(task))
            .enumerate()
            .for_each(|(t, (ys, xs))| {
                let blocks = ys.chunks_mut(self.inner).zip(xs.chunks(self.inner));
                for (k, (ys, xs)) in blocks.enumerate() {
                    let d = (t * blocks_per_task + k) % self.dim;
                    let (wv, bv) = (w[d], b[d]);
                    for (y, &x) in ys.iter_mut().zip(xs) {
                        *y = f(x, wv, bv);
                    }
                }
            });
    }

    /// out[d] = Σ over outer and inner of a (times b, when given) at operand index
    /// d; added to `out` when `accumulate`, else written. Sums in double.
    pub fn reduce(&self, a: &[f32], b: Option<&[f32]>, out: &mut [f32], accumulate: bool) {
        let mut sums = vec![0.0f64; self.dim];
        if self.inner > 0 && self.dim > 0 {
            for (k, av) in a.chunks(self.inner).enumerate() {
                let s: f64 = match b {
                    Some(b) => {
                        let bv = &b[k * self.inner..(k + 1) * self.inner];
                        av.iter().zip(bv).map(|(&p, &q)| p as f64 * q as f64).sum()
                    }
                    None => av.iter().map(|&p| p as f64).sum(),
                };
                sums[k % self.dim] += s;
            }
        }
        for (o, s) in out.iter_mut().zip(sums) {
            if accumulate {
                *o += s as f32;
            } else {
                *o = s as f32;
            }
        }
    }
}

/// The shape of a learned operand: bottom[axis .. axis + num_axes], all remaining
/// axes when num_axes is −1 (Caffe's Bias/Scale LayerSetUp).
pub fn learned_shape(bottom: &[usize], axis: i32, num_axes: i32) -> Result<Shape, String> {
    let axis = canonical_axis(axis, bottom.len())?;
    if num_axes < -1 {
        return Err(format!("num_axes must be -1 or ≥ 0, not {num_axes}"));
    }
    let end = if num_axes == -1 {
        bottom.len()
    } else {
        axis + num_axes as usize
    };
    if end > bottom.len() {
        return Err(format!(
            "axis {axis} + num_axes {num_axes} goes past the {} axes of the bottom",
            bottom.len()
        ));
    }
    Ok(bottom[axis..end].to_vec())
}

/// Checks that an operand (learned blob or second bottom) holds `dim` values.
pub fn check_operand(len: usize, bc: &Broadcast, what: &str) -> Result<(), String> {
    if len != bc.dim {
        return Err(format!(
            "the {what} has {len} values, but {} are needed",
            bc.dim
        ));
    }
    Ok(())
}

/// A filler, or the constant `value` when none is given (Caffe's defaults: 0 for
/// biases, 1 for scales), validated.
pub fn filler_or_constant(
    f: &Option<FillerParameter>,
    value: f32,
    what: &str,
) -> Result<FillerParameter, String> {
    let filler = f.clone().unwrap_or_else(|| FillerParameter {
        r#type: Some("constant".into()),
        value: Some(value),
        ..Default::default()
    });
    crate::fillers::validate(&filler).map_err(|e| format!("{what}: {e}"))?;
    Ok(filler)
}

pub struct Bias {
    axis: i32,
    num_axes: i32,
    filler: FillerParameter,
    /// The learned bias's shape (one bottom only), fixed by the first reshape.
    learned: Option<Shape>,
    broadcast: Option<Broadcast>,
}

impl Bias {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.bias_param();
        if p.num_axes() < -1 {
            return Err(format!(
                "bias_param.num_axes must be -1 or ≥ 0, not {}",
                p.num_axes()
            ));
        }
        Ok(Bias {
            axis: p.axis(),
            num_axes: p.num_axes(),
            filler: filler_or_constant(&p.filler, 0.0, "bias_param.filler")?,
            learned: None,
            broadcast: None,
        })
    }

    fn broadcast(&self, bottom: &Blob) -> Result<Broadcast, String> {
        let bc = self.broadcast.ok_or("forward ran before reshape")?;
        if bc.count() != bottom.count() {
            return Err("the bottom changed size since reshape".into());
        }
        Ok(bc)
    }
}

impl Layer for Bias {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, 2), (1, 1))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let operand = if bottoms.len() > 1 {
            bottoms[1].clone()
        } else {
            match &self.learned {
                Some(s) => s.clone(),
                None => {
                    let s = learned_shape(&bottoms[0], self.axis, self.num_axes)?;
                    self.learned = Some(s.clone());
                    s
                }
            }
        };
        self.broadcast = Some(Broadcast::new(&bottoms[0], &operand, self.axis)?);
        Ok(vec![bottoms[0].clone()])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        self.learned.iter().cloned().collect()
    }

    fn fill_params(&self, params: &mut [Blob], rng: &mut Rng) {
        if let Some(p) = params.first_mut() {
            crate::fillers::fill(&self.filler, p, rng);
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
        let b = match bottoms.get(1) {
            Some(b) => &b.data,
            None => &params.first().ok_or("the bias blob is missing")?.data,
        };
        check_operand(b.len(), &bc, "bias")?;
        bc.map(&bottoms[0].data, b, &mut tops[0].data, |x, b| x + b);
        Ok(())
    }

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
        if propagate_down[0] {
            bottoms[0].diff.copy_from_slice(dy);
        }
        if bottoms.len() > 1 {
            if propagate_down.get(1).copied().unwrap_or(false) {
                check_operand(bottoms[1].count(), &bc, "bias")?;
                bc.reduce(dy, None, &mut bottoms[1].diff, false);
            }
        } else {
            let p = params.first_mut().ok_or("the bias blob is missing")?;
            check_operand(p.count(), &bc, "bias")?;
            bc.reduce(dy, None, &mut p.diff, true);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Broadcast;
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    #[test]
    fn broadcast_geometry() {
        let bc = Broadcast::new(&[2, 3, 4, 5], &[3, 4], 1).unwrap();
        assert_eq!((bc.outer, bc.dim, bc.inner), (2, 12, 5));
        let bc = Broadcast::new(&[2, 3, 4, 5], &[5], -1).unwrap();
        assert_eq!((bc.outer, bc.dim, bc.inner), (24, 5, 1));
        // A scalar ignores the axis.
        let bc = Broadcast::new(&[2, 3], &[], 7).unwrap();
        assert_eq!((bc.outer, bc.dim, bc.inner), (1, 1, 6));
        assert!(Broadcast::new(&[2, 3, 4], &[4], 1).is_err());
        assert!(Broadcast::new(&[2, 3, 4], &[3, 4, 1], 1).is_err());
        assert!(Broadcast::new(&[2, 3], &[3], 5).is_err());
    }

    #[test]
    fn learned_shapes() {
        use super::learned_shape;
        assert_eq!(learned_shape(&[2, 3, 4], 1, 1).unwrap(), vec![3]);
        assert_eq!(learned_shape(&[2, 3, 4], 1, -1).unwrap(), vec![3, 4]);
        assert_eq!(
            learned_shape(&[2, 3, 4], 0, 0).unwrap(),
            Vec::<usize>::new()
        );
        assert!(learned_shape(&[2, 3, 4], 2, 2).is_err());
        assert!(learned_shape(&[2, 3, 4], 1, -2).is_err());
    }

    #[test]
    fn forward_values() {
        let mut t = TestLayer::new(
            r#"type: "Bias" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![1, 2, 2]],
        );
        assert_eq!(t.params[0].shape, vec![2]);
        t.params[0].data = vec![10.0, 20.0];
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![11.0, 12.0, 23.0, 24.0]);
    }

    #[test]
    fn gradients_learned() {
        for p in [
            "",
            "bias_param { axis: 0 num_axes: -1 }",
            "bias_param { num_axes: 0 }",
            "bias_param { axis: -1 }",
        ] {
            let text = format!(r#"type: "Bias" bottom: "x" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 2, 2]]);
            t.check_gradients(&[true], true, 1e-2, 1e-3, None);
        }
    }

    #[test]
    fn gradients_two_bottoms() {
        let text = r#"type: "Bias" bottom: "x" bottom: "b" top: "y""#;
        let mut t = TestLayer::new(text, Phase::Train, &[vec![2, 3, 2], vec![3, 2]]);
        assert!(t.params.is_empty());
        t.check_gradients(&[true, true], false, 1e-2, 1e-3, None);
        // A scalar second bottom.
        let mut t = TestLayer::new(text, Phase::Train, &[vec![2, 3, 2], vec![]]);
        t.check_gradients(&[true, true], false, 1e-2, 1e-3, None);
    }

    #[test]
    fn bad_settings_are_errors() {
        let p = layer_param(r#"type: "Bias" bias_param { num_axes: -3 }"#);
        assert!(super::Bias::new(&p).is_err());
        let p = layer_param(r#"type: "Bias" bias_param { filler { type: "nope" } }"#);
        assert!(super::Bias::new(&p).is_err());
        let p = layer_param(r#"type: "Bias" bottom: "x" bottom: "b" top: "y""#);
        let mut l = super::Bias::new(&p).unwrap();
        use crate::layers::Layer;
        assert!(l.reshape(&[vec![2, 3], vec![2]]).is_err());
    }
}
