//! PReLU: y = max(x, 0) + a_c · min(x, 0), with learned negative slopes a — one per
//! channel (axis 1), or one for all channels when `channel_shared`.

use super::neuron::check_same_count;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{FillerParameter, LayerParameter};
use crate::rng::Rng;
use crate::shape::{split_at_axis, Shape};

pub struct PReLU {
    channel_shared: bool,
    filler: FillerParameter,
    /// Fixed by the first reshape (the slope blob's size depends on it).
    channels: Option<usize>,
}

impl PReLU {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.prelu_param();
        let filler = match &p.filler {
            Some(f) => f.clone(),
            None => FillerParameter {
                r#type: Some("constant".into()),
                value: Some(0.25),
                ..Default::default()
            },
        };
        crate::fillers::validate(&filler).map_err(|e| format!("prelu_param.filler: {e}"))?;
        Ok(PReLU {
            channel_shared: p.channel_shared(),
            filler,
            channels: None,
        })
    }

    fn slope_count(&self) -> usize {
        if self.channel_shared {
            1
        } else {
            self.channels.unwrap_or(0)
        }
    }

    /// (outer, channels, inner) of the bottom around the channel axis.
    fn geometry(&self, bottom: &Blob) -> (usize, usize, usize) {
        split_at_axis(&bottom.shape, 1)
    }
}

impl Layer for PReLU {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.len() < 2 {
            return Err(format!(
                "PReLU needs a bottom with at least 2 axes (channels on axis 1), got {b:?}"
            ));
        }
        match self.channels {
            Some(c) if c != b[1] && !self.channel_shared => {
                return Err(format!(
                    "bottom has {} channels, but the slopes were made for {c}",
                    b[1]
                ))
            }
            _ => self.channels = Some(b[1]),
        }
        Ok(vec![b.clone()])
    }

    /// A scalar (no axes) when shared, else one slope per channel, as Caffe stores them.
    fn param_shapes(&self) -> Vec<Shape> {
        if self.channel_shared {
            vec![vec![]]
        } else {
            vec![vec![self.slope_count()]]
        }
    }

    fn fill_params(&self, params: &mut [Blob], rng: &mut Rng) {
        crate::fillers::fill(&self.filler, &mut params[0], rng);
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let bottom = bottoms[0];
        check_same_count(bottom, &tops[0])?;
        let (_, channels, inner) = self.geometry(bottom);
        let slopes = &params.first().ok_or("the slope blob is missing")?.data;
        check_slopes(slopes.len(), self.channel_shared, channels)?;
        if inner == 0 {
            return Ok(());
        }
        for (i, (ys, xs)) in tops[0]
            .data
            .chunks_mut(inner)
            .zip(bottom.data.chunks(inner))
            .enumerate()
        {
            let a = slopes[if self.channel_shared { 0 } else { i % channels }];
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = x.max(0.0) + a * x.min(0.0);
            }
        }
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
        let top = tops[0];
        let bottom = &mut bottoms[0];
        check_same_count(bottom, top)?;
        let (_, channels, inner) = self.geometry(bottom);
        let have = params.first().ok_or("the slope blob is missing")?.count();
        check_slopes(have, self.channel_shared, channels)?;
        if inner == 0 {
            return Ok(());
        }
        let shared = self.channel_shared;
        // Slope gradient: Σ dy·x over the negative inputs (x ≤ 0), accumulated.
        {
            let slope = &mut params[0];
            for (i, (dys, xs)) in top
                .diff
                .chunks(inner)
                .zip(bottom.data.chunks(inner))
                .enumerate()
            {
                let mut sum = 0.0f32;
                for (&dy, &x) in dys.iter().zip(xs) {
                    if x <= 0.0 {
                        sum += dy * x;
                    }
                }
                slope.diff[if shared { 0 } else { i % channels }] += sum;
            }
        }
        if propagate_down[0] {
            let slopes = &params[0].data;
            for (i, ((dxs, dys), xs)) in bottom
                .diff
                .chunks_mut(inner)
                .zip(top.diff.chunks(inner))
                .zip(bottom.data.chunks(inner))
                .enumerate()
            {
                let a = slopes[if shared { 0 } else { i % channels }];
                for ((dx, &dy), &x) in dxs.iter_mut().zip(dys).zip(xs) {
                    *dx = if x > 0.0 { dy } else { a * dy };
                }
            }
        }
        Ok(())
    }
}

fn check_slopes(have: usize, shared: bool, channels: usize) -> Result<(), String> {
    let want = if shared { 1 } else { channels };
    if have != want {
        return Err(format!(
            "the slope blob has {have} values, but {want} are needed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn default_filler_is_a_quarter() {
        let t = TestLayer::new(
            r#"type: "PReLU" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![2, 3, 2]],
        );
        // TestLayer replaces constant fills with random values; check the filler itself.
        let mut p = vec![crate::blob::Blob::new(&[3])];
        t.layer.fill_params(&mut p, &mut crate::rng::Rng::new(1));
        assert_eq!(p[0].data, vec![0.25; 3]);
        assert_eq!(t.layer.param_shapes(), vec![vec![3]]);
    }

    #[test]
    fn forward_values() {
        let mut t = TestLayer::new(
            r#"type: "PReLU" bottom: "x" top: "y""#,
            Phase::Test,
            &[vec![1, 2, 2]],
        );
        t.params[0].data = vec![0.5, 2.0];
        t.bottoms[0].data = vec![-1.0, 1.0, -1.0, 3.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![-0.5, 1.0, -2.0, 3.0]);
    }

    #[test]
    fn gradients() {
        for p in ["", "prelu_param { channel_shared: true }"] {
            let text = format!(r#"type: "PReLU" bottom: "x" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 2, 2]]);
            t.check_gradients(&[true], true, 1e-2, 1e-3, Some((0.0, 0.02)));
        }
        // Two axes: inner size 1.
        let mut t = TestLayer::new(
            r#"type: "PReLU" bottom: "x" top: "y""#,
            Phase::Train,
            &[vec![4, 3]],
        );
        t.check_gradients(&[true], true, 1e-2, 1e-3, Some((0.0, 0.02)));
    }

    #[test]
    fn one_axis_is_an_error() {
        let p = crate::layers::testing::layer_param(r#"type: "PReLU" bottom: "x" top: "y""#);
        let mut l = super::PReLU::new(&p).unwrap();
        use crate::layers::Layer;
        assert!(l.reshape(&[vec![5]]).is_err());
    }
}
