//! Test helpers shared by every layer's unit tests: build a layer from prototxt
//! text, run it on random input, and check its backward pass against central finite
//! differences (Caffe's GradientChecker).

use super::{create, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::error::SourceFile;
use crate::proto::{LayerParameter, Phase};
use crate::rng::Rng;
use crate::shape::Shape;

/// A layer built from the text of one `layer { … }` body, e.g.
/// `type: "ReLU" bottom: "x" top: "y" relu_param { negative_slope: 0.1 }`.
pub struct TestLayer {
    pub param: LayerParameter,
    pub layer: Box<dyn Layer>,
    pub bottoms: Vec<Blob>,
    pub tops: Vec<Blob>,
    pub params: Vec<Blob>,
    pub phase: Phase,
    pub rng: Rng,
}

/// Parses a LayerParameter body.
pub fn layer_param(text: &str) -> LayerParameter {
    let src = SourceFile::new("test", text);
    let tree = crate::text::parse(&src).unwrap_or_else(|e| panic!("{e}"));
    crate::text::from_message(&src, &tree).unwrap_or_else(|e| panic!("{e}"))
}

impl TestLayer {
    /// Builds the layer in `phase` with bottoms of the given shapes filled with
    /// uniform values in [-1, 1), and parameters from the layer's fillers (or, when
    /// the fillers leave them constant, uniform values so gradients are exercised).
    pub fn new(text: &str, phase: Phase, bottom_shapes: &[Shape]) -> Self {
        Self::with_data_shapes(text, phase, bottom_shapes, BuildContext::default())
    }

    pub fn with_data_shapes(
        text: &str,
        phase: Phase,
        bottom_shapes: &[Shape],
        ctx: BuildContext,
    ) -> Self {
        let mut param = layer_param(text);
        param.phase = Some(phase);
        let ctx = BuildContext {
            phase: Some(phase),
            ..ctx
        };
        let mut layer = create(&param, &ctx).unwrap_or_else(|e| panic!("create: {e}"));
        let top_shapes = layer
            .reshape(bottom_shapes)
            .unwrap_or_else(|e| panic!("reshape: {e}"));
        let mut rng = Rng::new(1701);
        let bottoms = bottom_shapes
            .iter()
            .map(|s| {
                let mut b = Blob::new(s);
                b.data.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0));
                b
            })
            .collect();
        let tops = top_shapes.iter().map(|s| Blob::new(s)).collect();
        let mut params: Vec<Blob> = layer.param_shapes().iter().map(|s| Blob::new(s)).collect();
        layer.fill_params(&mut params, &mut rng);
        for p in &mut params {
            if p.data.iter().all(|&v| v == p.data[0]) {
                p.data.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0));
            }
        }
        TestLayer {
            param,
            layer,
            bottoms,
            tops,
            params,
            phase,
            rng,
        }
    }

    pub fn forward(&mut self) {
        let bottoms: Vec<&Blob> = self.bottoms.iter().collect();
        let mut ctx = RunContext {
            phase: self.phase,
            rng: &mut self.rng,
            param_propagate: &[],
        };
        self.layer
            .forward(&bottoms, &mut self.tops, &mut self.params, &mut ctx)
            .unwrap_or_else(|e| panic!("forward: {e}"));
    }

    pub fn backward(&mut self, propagate_down: &[bool]) {
        let tops: Vec<&Blob> = self.tops.iter().collect();
        let mut ctx = RunContext {
            phase: self.phase,
            rng: &mut self.rng,
            param_propagate: &[],
        };
        self.layer
            .backward(
                &tops,
                propagate_down,
                &mut self.bottoms,
                &mut self.params,
                &mut ctx,
            )
            .unwrap_or_else(|e| panic!("backward: {e}"));
    }

    /// The objective the checker differentiates: Σ w·top over every top, with fixed
    /// pseudo-random weights w (which are also the injected top diffs).
    fn objective(&mut self, weights: &[Vec<f32>]) -> f64 {
        // The same random stream every time, so stochastic layers (dropout) see the
        // same mask in every evaluation.
        self.rng = Rng::new(99);
        self.forward();
        self.tops
            .iter()
            .zip(weights)
            .map(|(t, w)| {
                t.data
                    .iter()
                    .zip(w)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
            })
            .sum()
    }

    /// Checks every bottom gradient (where `check_bottoms[i]`) and, when
    /// `check_params`, every parameter gradient against central differences with step `step`; the error bound per
    /// element is `threshold · max(|analytic|, |numeric|, 1)`. Elements whose input is
    /// within `kink_range` of `kink` are skipped, as Caffe's checker does.
    // Index loops: each probe perturbs `self` and re-runs the layer.
    #[allow(clippy::needless_range_loop)]
    pub fn check_gradients(
        &mut self,
        check_bottoms: &[bool],
        check_params: bool,
        step: f32,
        threshold: f32,
        kink: Option<(f32, f32)>,
    ) {
        let mut wrng = Rng::new(4242);
        let weights: Vec<Vec<f32>> = self
            .tops
            .iter()
            .map(|t| (0..t.count()).map(|_| wrng.uniform(-1.0, 1.0)).collect())
            .collect();
        // Analytic gradients.
        self.objective(&weights);
        for (t, w) in self.tops.iter_mut().zip(&weights) {
            t.diff.copy_from_slice(w);
        }
        for p in &mut self.params {
            p.diff.iter_mut().for_each(|d| *d = 0.0);
        }
        self.rng = Rng::new(99);
        self.backward(check_bottoms);
        let bottom_grads: Vec<Vec<f32>> = self.bottoms.iter().map(|b| b.diff.clone()).collect();
        let param_grads: Vec<Vec<f32>> = self.params.iter().map(|p| p.diff.clone()).collect();

        let mut failures = Vec::new();
        for bi in 0..self.bottoms.len() {
            if !check_bottoms.get(bi).copied().unwrap_or(false) {
                continue;
            }
            for i in 0..self.bottoms[bi].count() {
                let x = self.bottoms[bi].data[i];
                if let Some((k, r)) = kink {
                    if (x - k).abs() <= r {
                        continue;
                    }
                }
                self.bottoms[bi].data[i] = x + step;
                let plus = self.objective(&weights);
                self.bottoms[bi].data[i] = x - step;
                let minus = self.objective(&weights);
                self.bottoms[bi].data[i] = x;
                let numeric = ((plus - minus) / (2.0 * step as f64)) as f32;
                let analytic = bottom_grads[bi][i];
                let scale = analytic.abs().max(numeric.abs()).max(1.0);
                if (analytic - numeric).abs() > threshold * scale {
                    failures.push(format!(
                        "bottom {bi}[{i}] (x={x}): analytic {analytic}, numeric {numeric}"
                    ));
                }
            }
        }
        let checked_params = if check_params { self.params.len() } else { 0 };
        for pi in 0..checked_params {
            for i in 0..self.params[pi].count() {
                let x = self.params[pi].data[i];
                self.params[pi].data[i] = x + step;
                let plus = self.objective(&weights);
                self.params[pi].data[i] = x - step;
                let minus = self.objective(&weights);
                self.params[pi].data[i] = x;
                let numeric = ((plus - minus) / (2.0 * step as f64)) as f32;
                let analytic = param_grads[pi][i];
                let scale = analytic.abs().max(numeric.abs()).max(1.0);
                if (analytic - numeric).abs() > threshold * scale {
                    failures.push(format!(
                        "param {pi}[{i}]: analytic {analytic}, numeric {numeric}"
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} gradient mismatches in `{}`, first: {:?}",
            failures.len(),
            self.param.r#type(),
            &failures[..failures.len().min(5)]
        );
    }
}
