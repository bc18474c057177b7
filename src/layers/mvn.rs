//! MVN (mean-variance normalisation): per image and channel (or per image across
//! channels), y = (x − mean) / (std + ε), or y = x − mean without
//! `normalize_variance`. Note ε is added to the standard deviation, as in Caffe.

use super::neuron::check_same_count;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct Mvn {
    normalize_variance: bool,
    across_channels: bool,
    eps: f32,
    /// std + ε per group, from the last forward pass.
    std: Vec<f32>,
}

impl Mvn {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.mvn_param();
        Ok(Mvn {
            normalize_variance: p.normalize_variance(),
            across_channels: p.across_channels(),
            eps: p.eps(),
            std: Vec::new(),
        })
    }

    /// (groups, values per group): groups are images, or (image, channel) pairs.
    fn groups(&self, bottom: &Blob) -> (usize, usize) {
        let dim = |i: usize| bottom.shape.get(i).copied().unwrap_or(1);
        let groups = if self.across_channels {
            dim(0)
        } else {
            dim(0) * dim(1)
        };
        if groups == 0 {
            (0, 0)
        } else {
            (groups, bottom.count() / groups)
        }
    }
}

fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64
}

impl Layer for Mvn {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.len() > 4 {
            return Err(format!(
                "MVN works on blobs of at most 4 axes (num, channels, height, width), got {b:?}"
            ));
        }
        Ok(vec![b.clone()])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let bottom = bottoms[0];
        check_same_count(bottom, &tops[0])?;
        let (groups, dim) = self.groups(bottom);
        self.std.clear();
        if dim == 0 {
            return Ok(());
        }
        for (ys, xs) in tops[0].data.chunks_mut(dim).zip(bottom.data.chunks(dim)) {
            let m = mean(xs) as f32;
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = x - m;
            }
            if self.normalize_variance {
                let var = ys.iter().map(|&y| y as f64 * y as f64).sum::<f64>() / dim as f64;
                let std = (var as f32).sqrt() + self.eps;
                for y in ys.iter_mut() {
                    *y /= std;
                }
                self.std.push(std);
            }
        }
        debug_assert!(!self.normalize_variance || self.std.len() == groups);
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        if !propagate_down[0] {
            return Ok(());
        }
        let top = tops[0];
        let bottom = &mut bottoms[0];
        check_same_count(bottom, top)?;
        let (groups, dim) = self.groups(bottom);
        if dim == 0 {
            return Ok(());
        }
        if self.normalize_variance && self.std.len() != groups {
            return Err("backward ran before forward".into());
        }
        let inv = 1.0 / dim as f32;
        for (g, ((dxs, dys), ys)) in bottom
            .diff
            .chunks_mut(dim)
            .zip(top.diff.chunks(dim))
            .zip(top.data.chunks(dim))
            .enumerate()
        {
            if self.normalize_variance {
                // dx = (dy − mean(dy) − y·mean(dy·y)) / (std + ε)
                let sum_dyy = dys
                    .iter()
                    .zip(ys)
                    .map(|(&d, &y)| d as f64 * y as f64)
                    .sum::<f64>() as f32;
                let sum_dy = dys.iter().map(|&d| d as f64).sum::<f64>() as f32;
                let std = self.std[g];
                for ((dx, &dy), &y) in dxs.iter_mut().zip(dys).zip(ys) {
                    *dx = (dy - inv * (y * sum_dyy + sum_dy)) / std;
                }
            } else {
                let m = mean(dys) as f32;
                for (dx, &dy) in dxs.iter_mut().zip(dys) {
                    *dx = dy - m;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn forward_normalises_each_group() {
        for (p, groups) in [("", 6), ("mvn_param { across_channels: true }", 2)] {
            let text = format!(r#"type: "MVN" bottom: "x" top: "y" {p}"#);
            let mut t = TestLayer::new(&text, Phase::Test, &[vec![2, 3, 2, 2]]);
            t.forward();
            for g in t.tops[0].data.chunks(24 / groups) {
                let n = g.len() as f32;
                let m = g.iter().sum::<f32>() / n;
                let v = g.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / n;
                assert!(m.abs() < 1e-5, "{m}");
                assert!((v - 1.0).abs() < 1e-4, "{v}");
            }
        }
        let text = r#"type: "MVN" bottom: "x" top: "y" mvn_param { normalize_variance: false }"#;
        let mut t = TestLayer::new(text, Phase::Test, &[vec![1, 1, 3]]);
        t.bottoms[0].data = vec![1.0, 2.0, 6.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![-2.0, -1.0, 3.0]);
    }

    #[test]
    fn gradients() {
        for p in [
            "",
            "mvn_param { across_channels: true }",
            "mvn_param { normalize_variance: false }",
            "mvn_param { normalize_variance: false across_channels: true }",
        ] {
            let text = format!(r#"type: "MVN" bottom: "x" top: "y" {p}"#);
            // Groups of 9 and a small step: with few values per group the
            // normalisation is strongly curved.
            let mut t = TestLayer::new(&text, Phase::Train, &[vec![2, 3, 3, 3]]);
            t.check_gradients(&[true], false, 1e-3, 2e-3, None);
        }
    }

    #[test]
    fn more_than_four_axes_is_an_error() {
        let p = crate::layers::testing::layer_param(r#"type: "MVN""#);
        let mut l = super::Mvn::new(&p).unwrap();
        use crate::layers::Layer;
        assert!(l.reshape(&[vec![1, 2, 3, 4, 5]]).is_err());
        assert!(l.reshape(&[vec![2, 3]]).is_ok());
    }
}
