//! BatchNorm: y = (x − μ) / √(σ² + ε) per channel (axis 1), with Caffe's three
//! stored blobs — the running sums of the mean and of the variance and their
//! scale factor s — which TRAIN passes update and global-statistics passes read
//! (μ = sum/s). There is no learned γ/β: a Scale layer follows.

use super::bias::Broadcast;
use super::neuron::check_same_count;
use super::{BlobCounts, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{LayerParameter, ParamSpec, Phase};
use crate::shape::Shape;

pub struct BatchNorm {
    use_global_stats: bool,
    moving_average_fraction: f32,
    eps: f32,
    /// Fixed by the first reshape.
    channels: Option<usize>,
    /// √(σ² + ε) per channel, from the last forward pass.
    std: Vec<f32>,
}

impl BatchNorm {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let p = param.batch_norm_param();
        if p.eps() < 0.0 || !p.eps().is_finite() {
            return Err(format!(
                "batch_norm_param.eps must be finite and ≥ 0, not {}",
                p.eps()
            ));
        }
        Ok(BatchNorm {
            // Caffe: unset means "use the stored statistics in TEST, the batch's in TRAIN".
            use_global_stats: p.use_global_stats.unwrap_or(ctx.phase() == Phase::Test),
            moving_average_fraction: p.moving_average_fraction(),
            eps: p.eps(),
            channels: None,
            std: Vec::new(),
        })
    }

    /// (num, channels, spatial) of a bottom.
    fn geometry(&self, bottom: &Blob) -> Result<(usize, usize, usize), String> {
        let c = self.channels.unwrap_or(0);
        let n = bottom.shape.first().copied().unwrap_or(0);
        let spatial = bottom.count().checked_div(n * c).unwrap_or(0);
        if bottom.shape.len() > 1 && bottom.shape[1] != c {
            return Err(format!(
                "bottom has {} channels, but the layer was set up for {c}",
                bottom.shape[1]
            ));
        }
        Ok((n, c, spatial))
    }
}

/// Σ f(j) over the indices j of channel `ch` in an (n, c, s) array, in double.
fn channel_sum(n: usize, c: usize, s: usize, ch: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut sum = 0.0f64;
    for i in 0..n {
        let start = (i * c + ch) * s;
        for j in start..start + s {
            sum += f(j);
        }
    }
    sum
}

impl Layer for BatchNorm {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.is_empty() {
            return Err("BatchNorm needs a bottom with at least one axis".into());
        }
        let c = if b.len() == 1 { 1 } else { b[1] };
        match self.channels {
            Some(have) if have != c => {
                return Err(format!(
                    "bottom has {c} channels, but the statistics were made for {have}"
                ))
            }
            _ => self.channels = Some(c),
        }
        Ok(vec![b.clone()])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        let c = self.channels.unwrap_or(0);
        vec![vec![c], vec![c], vec![1]]
    }

    /// The statistics are not learned: missing specs get lr_mult 0, and a declared
    /// non-zero lr_mult is refused (Caffe's BatchNormLayer::LayerSetUp).
    fn param_specs(&self, declared: &[ParamSpec]) -> Result<Vec<ParamSpec>, String> {
        let mut specs = declared.to_vec();
        for (i, spec) in declared.iter().enumerate().take(3) {
            if spec.lr_mult() != 0.0 {
                return Err(format!(
                    "param {i} sets lr_mult {}; BatchNorm statistics are not learned \
                     parameters (use lr_mult: 0, or omit the param)",
                    spec.lr_mult()
                ));
            }
        }
        while specs.len() < 3 {
            specs.push(ParamSpec {
                lr_mult: Some(0.0),
                ..Default::default()
            });
        }
        Ok(specs)
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
        let (n, c, s) = self.geometry(bottom)?;
        if params.len() != 3
            || params[0].count() != c
            || params[1].count() != c
            || params[2].count() != 1
        {
            return Err(format!(
                "BatchNorm needs blobs of {c}, {c} and 1 values (mean sum, variance sum, scale factor)"
            ));
        }
        let x = &bottom.data;
        let y = &mut tops[0].data;
        let per_channel = (n * s) as f64;
        let (mean, mut var): (Vec<f32>, Vec<f32>) = if self.use_global_stats {
            let factor = if params[2].data[0] == 0.0 {
                0.0
            } else {
                1.0 / params[2].data[0]
            };
            (
                params[0].data.iter().map(|&m| factor * m).collect(),
                params[1].data.iter().map(|&v| factor * v).collect(),
            )
        } else {
            let mean = (0..c)
                .map(|ch| {
                    if per_channel == 0.0 {
                        0.0
                    } else {
                        (channel_sum(n, c, s, ch, |j| x[j] as f64) / per_channel) as f32
                    }
                })
                .collect();
            (mean, vec![0.0; c])
        };
        if self.use_global_stats {
            self.std = var.iter().map(|&v| (v + self.eps).sqrt()).collect();
            // y = (x − μ) / σ in one parallel pass: the roundings of Caffe's two.
            let per_channel = Broadcast {
                outer: n,
                dim: c,
                inner: s,
            };
            per_channel.map2(x, &mean, &self.std, y, |x, m, d| (x - m) / d);
            return Ok(());
        }
        // y = x − μ
        for (blk, (ys, xs)) in y.chunks_mut(s.max(1)).zip(x.chunks(s.max(1))).enumerate() {
            let m = mean[blk % c.max(1)];
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = x - m;
            }
        }
        if !self.use_global_stats {
            for (ch, v) in var.iter_mut().enumerate() {
                if per_channel > 0.0 {
                    let yr: &[f32] = y;
                    *v = (channel_sum(n, c, s, ch, |j| {
                        let d = yr[j] as f64;
                        d * d
                    }) / per_channel) as f32;
                }
            }
            let maf = self.moving_average_fraction;
            params[2].data[0] = params[2].data[0] * maf + 1.0;
            for (acc, &m) in params[0].data.iter_mut().zip(&mean) {
                *acc = maf * *acc + m;
            }
            let m = bottom.count() / c.max(1);
            let correction = if m > 1 {
                m as f32 / (m - 1) as f32
            } else {
                1.0
            };
            for (acc, &v) in params[1].data.iter_mut().zip(&var) {
                *acc = maf * *acc + correction * v;
            }
        }
        self.std = var.iter().map(|&v| (v + self.eps).sqrt()).collect();
        for (blk, ys) in y.chunks_mut(s.max(1)).enumerate() {
            let d = self.std[blk % c.max(1)];
            for y in ys {
                *y /= d;
            }
        }
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
        let (n, c, s) = self.geometry(bottom)?;
        if self.std.len() != c {
            return Err("backward ran before forward".into());
        }
        if s == 0 || n == 0 {
            return Ok(());
        }
        let (dy, yn, dx) = (&top.diff, &top.data, &mut bottom.diff);
        if self.use_global_stats {
            for (blk, (dxs, dys)) in dx.chunks_mut(s).zip(dy.chunks(s)).enumerate() {
                let d = self.std[blk % c];
                for (dx, &dy) in dxs.iter_mut().zip(dys) {
                    *dx = dy / d;
                }
            }
            return Ok(());
        }
        // dx = (dy − mean(dy) − mean(dy·y)·y) / √(σ² + ε), means per channel.
        let inv = 1.0 / (n * s) as f64;
        let sum_dy: Vec<f32> = (0..c)
            .map(|ch| channel_sum(n, c, s, ch, |j| dy[j] as f64) as f32)
            .collect();
        let sum_dyy: Vec<f32> = (0..c)
            .map(|ch| channel_sum(n, c, s, ch, |j| dy[j] as f64 * yn[j] as f64) as f32)
            .collect();
        let inv = inv as f32;
        for (blk, ((dxs, dys), ys)) in dx
            .chunks_mut(s)
            .zip(dy.chunks(s))
            .zip(yn.chunks(s))
            .enumerate()
        {
            let ch = blk % c;
            let (a, b, d) = (sum_dy[ch], sum_dyy[ch], self.std[ch]);
            for ((dx, &dy), &y) in dxs.iter_mut().zip(dys).zip(ys) {
                *dx = (dy - inv * (y * b + a)) / d;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::layers::{create, BuildContext};
    use crate::proto::{ParamSpec, Phase};

    const BN: &str = r#"type: "BatchNorm" bottom: "x" top: "y""#;

    #[test]
    fn train_normalises_and_updates_the_running_sums() {
        let mut t = TestLayer::new(BN, Phase::Train, &[vec![2, 2, 3]]);
        t.bottoms[0].data = vec![1., 2., 3., 10., 10., 10., 4., 5., 6., 10., 10., 10.];
        for p in &mut t.params {
            p.data.iter_mut().for_each(|v| *v = 0.0);
        }
        t.forward();
        // Channel 0: mean 3.5, variance 35/12; channel 1 is constant.
        let sd = (35.0f32 / 12.0 + 1e-5).sqrt();
        assert!((t.tops[0].data[0] - (1.0 - 3.5) / sd).abs() < 1e-6);
        assert!((t.tops[0].data[8] - (6.0 - 3.5) / sd).abs() < 1e-6);
        assert_eq!(t.tops[0].data[3], 0.0);
        assert_eq!(t.params[2].data, vec![1.0]);
        assert_eq!(t.params[0].data, vec![3.5, 10.0]);
        // Unbiased: m/(m−1) with m = 6.
        assert!((t.params[1].data[0] - 35.0 / 12.0 * 6.0 / 5.0).abs() < 1e-5);
        assert_eq!(t.params[1].data[1], 0.0);
        t.forward();
        assert!((t.params[2].data[0] - 1.999).abs() < 1e-6);
        assert!((t.params[0].data[0] - 3.5 * 1.999).abs() < 1e-5);
    }

    #[test]
    fn test_uses_the_stored_statistics() {
        let mut t = TestLayer::new(BN, Phase::Test, &[vec![1, 2, 1]]);
        t.params[0].data = vec![2.0, -4.0];
        t.params[1].data = vec![8.0, 2.0];
        t.params[2].data = vec![2.0];
        t.bottoms[0].data = vec![3.0, 0.0];
        t.forward();
        assert!((t.tops[0].data[0] - 2.0 / (4.0f32 + 1e-5).sqrt()).abs() < 1e-6);
        assert!((t.tops[0].data[1] - 2.0 / (1.0f32 + 1e-5).sqrt()).abs() < 1e-6);
        // A zero scale factor means zero statistics.
        t.params[2].data = vec![0.0];
        t.forward();
        assert!((t.tops[0].data[0] - 3.0 / 1e-5f32.sqrt()).abs() < 1e-2);
    }

    #[test]
    fn gradients_with_batch_statistics() {
        for shape in [vec![3, 2, 2, 2], vec![4, 3], vec![5]] {
            let mut t = TestLayer::new(BN, Phase::Train, &[shape]);
            t.check_gradients(&[true], false, 1e-2, 2e-3, None);
        }
    }

    #[test]
    fn gradients_with_global_statistics() {
        let mut t = TestLayer::new(BN, Phase::Test, &[vec![2, 3, 2]]);
        t.params[1].data = vec![0.5, 1.0, 2.0];
        t.params[2].data = vec![1.5];
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }

    #[test]
    fn statistics_get_lr_mult_zero() {
        let layer = create(&layer_param(BN), &BuildContext::default()).unwrap();
        let specs = layer.param_specs(&[]).unwrap();
        assert_eq!(specs.len(), 3);
        assert!(specs.iter().all(|s| s.lr_mult() == 0.0));
        let one = ParamSpec {
            lr_mult: Some(0.0),
            decay_mult: Some(0.0),
            ..Default::default()
        };
        let specs = layer.param_specs(std::slice::from_ref(&one)).unwrap();
        assert_eq!(specs[0], one);
        assert!(specs.iter().all(|s| s.lr_mult() == 0.0));
        let learned = ParamSpec {
            lr_mult: Some(1.0),
            ..Default::default()
        };
        assert!(layer.param_specs(&[learned]).is_err());
    }

    /// Through the graph: the statistics' specs are frozen, so a net's solver never
    /// updates them, and nothing below BatchNorm needs backward on their account.
    #[test]
    fn nets_freeze_the_statistics() {
        use crate::error::SourceFile;
        use crate::net::{build, net_state, Net};
        let text = r#"
            layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
            layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" }
            layer { name: "bn2" type: "BatchNorm" bottom: "y" top: "z" param { lr_mult: 0 } loss_weight: 1 }
        "#;
        let loaded = crate::load::net_from_source(&SourceFile::new("t", text)).unwrap();
        let state = net_state(&loaded.net, Phase::Train, None, &[]);
        let graph = build(
            &loaded.net,
            &state,
            &loaded.source,
            &BuildContext::default(),
        )
        .unwrap();
        let net = Net::new(graph, false, 1).unwrap();
        assert_eq!(net.params.len(), 6);
        assert!(net.param_info.iter().all(|p| p.lr_mult == 0.0));
        assert!(net.layer_need_backward.iter().all(|&b| !b));

        let bad = text.replace("param { lr_mult: 0 }", "param { lr_mult: 1 }");
        let loaded = crate::load::net_from_source(&SourceFile::new("t", bad)).unwrap();
        let err = build(
            &loaded.net,
            &state,
            &loaded.source,
            &BuildContext::default(),
        );
        assert!(err.is_err());
    }

    #[test]
    fn use_global_stats_follows_the_phase_unless_set() {
        let ctx = |phase| BuildContext {
            phase: Some(phase),
            ..Default::default()
        };
        let p = layer_param(BN);
        assert!(
            super::BatchNorm::new(&p, &ctx(Phase::Test))
                .unwrap()
                .use_global_stats
        );
        assert!(
            !super::BatchNorm::new(&p, &ctx(Phase::Train))
                .unwrap()
                .use_global_stats
        );
        let p = layer_param(r#"type: "BatchNorm" batch_norm_param { use_global_stats: true }"#);
        assert!(
            super::BatchNorm::new(&p, &ctx(Phase::Train))
                .unwrap()
                .use_global_stats
        );
    }
}
