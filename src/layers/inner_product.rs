//! InnerProduct: a fully connected layer over every axis from `axis` on.
//!
//! With M = count(0, axis), K = count(axis) and N = num_output, Caffe's three
//! products (inner_product_layer.cpp):
//! - forward: Y (M×N) = X·Wᵀ, or X·W when `transpose` (W stored K×N), plus 1·bᵀ;
//! - weight gradient (accumulated): dW += dYᵀ·X, or Xᵀ·dY when `transpose`;
//! - bias gradient (accumulated): db += dYᵀ·1;
//! - bottom gradient (overwritten): dX = dY·W, or dY·Wᵀ when `transpose`.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::fillers;
use crate::kernels::gemm::{sgemm, Parallelism};
use crate::proto::{FillerParameter, LayerParameter};
use crate::shape::{canonical_axis, count, Shape};

pub struct InnerProduct {
    num_output: usize,
    bias: bool,
    transpose: bool,
    axis: i32,
    inputs: usize,
    weight_filler: FillerParameter,
    bias_filler: FillerParameter,
    /// The forward product in W's orientation, before it is transposed into the top.
    transposed_top: Vec<f32>,
}

/// Products at least this large (m·n·k) let `gemm` use the rayon pool.
const PARALLEL_MACS: usize = 1 << 18;

/// C (m×n) = op(A) (m×k) · op(B) (k×n), added to C when `accumulate`; A and B are
/// packed row-major and read transposed when `trans_*`. Callers check the sizes
/// (`InnerProduct::dims`) first.
#[allow(clippy::too_many_arguments)]
fn product(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MACS {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    let lda = if trans_a { m } else { k };
    let ldb = if trans_b { k } else { n };
    let beta = if accumulate { 1.0 } else { 0.0 };
    sgemm(
        trans_a,
        trans_b,
        m,
        n,
        k,
        1.0,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        n,
        parallelism,
    );
}

impl InnerProduct {
    pub fn new(layer: &LayerParameter) -> Result<Self, String> {
        let p = layer.inner_product_param();
        if p.num_output() == 0 {
            return Err("inner_product_param.num_output must be greater than zero".into());
        }
        let weight_filler = p.weight_filler();
        let bias_filler = p.bias_filler();
        fillers::validate(&weight_filler).map_err(|e| format!("weight_filler: {e}"))?;
        if p.bias_term() {
            fillers::validate(&bias_filler).map_err(|e| format!("bias_filler: {e}"))?;
        }
        Ok(InnerProduct {
            num_output: p.num_output() as usize,
            bias: p.bias_term(),
            transpose: p.transpose(),
            axis: p.axis(),
            inputs: 0,
            weight_filler,
            bias_filler,
            transposed_top: Vec::new(),
        })
    }

    /// (M, K, N) for this bottom, checked against the shapes `reshape` fixed and
    /// against the parameter blobs.
    fn dims(&self, bottom: &Blob, params: &[Blob]) -> Result<(usize, usize, usize), String> {
        let axis = canonical_axis(self.axis, bottom.shape.len())?;
        let k = count(&bottom.shape[axis..]);
        if k != self.inputs {
            return Err(format!(
                "input size {k} is incompatible with the inner product's {} inputs",
                self.inputs
            ));
        }
        let m = count(&bottom.shape[..axis]);
        let n = self.num_output;
        let want = 1 + self.bias as usize;
        if params.len() != want {
            return Err(format!(
                "inner product needs {want} parameter blob(s), got {}",
                params.len()
            ));
        }
        if params[0].count() != n * k {
            return Err(format!(
                "weight holds {} values, {n}×{k} expected",
                params[0].count()
            ));
        }
        if self.bias && params[1].count() != n {
            return Err(format!(
                "bias holds {} values, {n} expected",
                params[1].count()
            ));
        }
        Ok((m, k, n))
    }
}

impl Layer for InnerProduct {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let axis = canonical_axis(self.axis, b.len())?;
        self.inputs = count(&b[axis..]);
        let mut top = b[..axis].to_vec();
        top.push(self.num_output);
        Ok(vec![top])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        let weight = if self.transpose {
            vec![self.inputs, self.num_output]
        } else {
            vec![self.num_output, self.inputs]
        };
        let mut shapes = vec![weight];
        if self.bias {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }

    fn fill_params(&self, params: &mut [Blob], rng: &mut crate::rng::Rng) {
        if let Some(w) = params.get_mut(0) {
            fillers::fill(&self.weight_filler, w, rng);
        }
        if self.bias {
            if let Some(b) = params.get_mut(1) {
                fillers::fill(&self.bias_filler, b, rng);
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
        let (m, k, n) = self.dims(bottoms[0], params)?;
        let top = &mut tops[0].data;
        if top.len() != m * n {
            return Err(format!("top holds {} values, {m}×{n} expected", top.len()));
        }
        // W is N×K (read as Wᵀ, K×N) or, transposed, K×N.
        let (x, w) = (&bottoms[0].data, &params[0].data);
        if !self.transpose && m < n {
            // Few rows against a large W (AlexNet's fc6 at batch 16): `gemm` runs
            // topᵀ = W · xᵀ, with W as the left operand, about 6× faster.
            self.transposed_top.resize(m * n, 0.0);
            product(false, true, n, m, k, w, x, &mut self.transposed_top, false);
            for (j, column) in self.transposed_top.chunks_exact(m).enumerate() {
                for (i, &v) in column.iter().enumerate() {
                    top[i * n + j] = v;
                }
            }
        } else {
            product(false, !self.transpose, m, n, k, x, w, top, false);
        }
        if self.bias {
            let b = &params[1].data;
            for row in top.chunks_mut(n) {
                for (y, &bv) in row.iter_mut().zip(b) {
                    *y += bv;
                }
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
        ctx: &mut RunContext,
    ) -> Result<(), String> {
        let (m, k, n) = self.dims(&bottoms[0], params)?;
        let dy = &tops[0].diff;
        if dy.len() != m * n {
            return Err(format!("top holds {} values, {m}×{n} expected", dy.len()));
        }
        // Weight gradient, accumulated; none for frozen (lr_mult 0) parameters, as
        // Caffe's param_propagate_down.
        let (x, dw) = (&bottoms[0].data, &mut params[0].diff);
        if ctx.param_wanted(0) {
            if self.transpose {
                // dW (K×N) += Xᵀ (K×M) · dY (M×N).
                product(true, false, k, n, m, x, dy, dw, true);
            } else {
                // dW (N×K) += dYᵀ (N×M) · X (M×K).
                product(true, false, n, k, m, dy, x, dw, true);
            }
        }
        if self.bias && ctx.param_wanted(1) {
            let mut sums = vec![0.0f32; n];
            for row in dy.chunks(n) {
                for (s, &d) in sums.iter_mut().zip(row) {
                    *s += d;
                }
            }
            for (b, s) in params[1].diff.iter_mut().zip(sums) {
                *b += s;
            }
        }
        if propagate_down.first().copied().unwrap_or(false) {
            // dX (M×K) = dY (M×N) · W (N×K), or dY · Wᵀ when W is stored K×N.
            let w = &params[0].data;
            product(
                false,
                self.transpose,
                m,
                k,
                n,
                dy,
                w,
                &mut bottoms[0].diff,
                false,
            );
        }
        Ok(())
    }

    fn forward_macs(&self, _bottoms: &[Shape], tops: &[Shape]) -> u64 {
        count(&tops[0]) as u64 * self.inputs as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;
    use crate::rng::Rng;

    fn layer(params: &str, shape: &[usize]) -> TestLayer {
        let text = format!(
            "type: \"InnerProduct\" bottom: \"x\" top: \"y\" inner_product_param {{ {params} }}"
        );
        TestLayer::new(&text, Phase::Test, &[shape.to_vec()])
    }

    #[test]
    fn gradients_for_every_layout() {
        for (params, shape) in [
            ("num_output: 4", vec![3, 2, 2, 2]),
            ("num_output: 3 transpose: true", vec![2, 5]),
            ("num_output: 2 bias_term: false", vec![2, 3, 2]),
            ("num_output: 3 axis: 2", vec![2, 2, 3, 2]),
            ("num_output: 2 axis: -1 transpose: true", vec![2, 3, 4]),
        ] {
            let mut t = layer(params, &shape);
            t.check_gradients(&[true], true, 1e-2, 1e-2, None);
        }
    }

    #[test]
    fn values_and_accumulation() {
        // X (2×3) · Wᵀ with W (2×3), plus b.
        let mut t = layer("num_output: 2", &[2, 3]);
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
        t.params[0].data = vec![1.0, 0.0, -1.0, 0.5, 0.5, 0.5];
        t.params[1].data = vec![10.0, 20.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![8.0, 23.0, 8.0, 20.0]);
        // The same product with W stored transposed (3×2).
        let mut tt = layer("num_output: 2 transpose: true", &[2, 3]);
        tt.bottoms[0].data = t.bottoms[0].data.clone();
        tt.params[0].data = vec![1.0, 0.5, 0.0, 0.5, -1.0, 0.5];
        tt.params[1].data = vec![10.0, 20.0];
        tt.forward();
        assert_eq!(tt.tops[0].data, t.tops[0].data);
        // Backward: parameter gradients accumulate, the bottom gradient is overwritten.
        t.tops[0].diff = vec![1.0, 0.0, 0.0, 2.0];
        t.bottoms[0].diff.fill(7.0);
        t.backward(&[true]);
        let dw = vec![1.0, 2.0, 3.0, -2.0, 0.0, 2.0];
        assert_eq!(t.params[0].diff, dw);
        assert_eq!(t.params[1].diff, vec![1.0, 2.0]);
        assert_eq!(t.bottoms[0].diff, vec![1.0, 0.0, -1.0, 1.0, 1.0, 1.0]);
        t.backward(&[true]);
        let twice: Vec<f32> = dw.iter().map(|v| v * 2.0).collect();
        assert_eq!(t.params[0].diff, twice);
        assert_eq!(t.params[1].diff, vec![2.0, 4.0]);
        assert_eq!(t.bottoms[0].diff, vec![1.0, 0.0, -1.0, 1.0, 1.0, 1.0]);
        // No propagate_down: the bottom diff is left alone, params still accumulate.
        t.bottoms[0].diff.fill(7.0);
        t.backward(&[false]);
        assert_eq!(t.bottoms[0].diff, vec![7.0; 6]);
        assert_eq!(t.params[1].diff, vec![3.0, 6.0]);
    }

    /// Large enough for the threaded gemm path; checked against plain loops in f64.
    #[test]
    #[allow(clippy::needless_range_loop)] // matrix indices read more plainly here
    fn large_products_match_naive_loops() {
        for transpose in [false, true] {
            let (m, k, n) = (48, 160, 70);
            let mut t = layer(&format!("num_output: {n} transpose: {transpose}"), &[m, k]);
            t.forward();
            let mut rng = Rng::new(8);
            t.tops[0].diff = (0..m * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            t.backward(&[true]);
            let (x, w, b, dy) = (
                &t.bottoms[0].data,
                &t.params[0].data,
                &t.params[1].data,
                &t.tops[0].diff,
            );
            let wt = |o: usize, i: usize| {
                if transpose {
                    w[i * n + o]
                } else {
                    w[o * k + i]
                }
            } as f64;
            let close = |a: f32, b: f64| (a as f64 - b).abs() <= 1e-4 * (1.0 + b.abs());
            for r in 0..m {
                for o in 0..n {
                    let y: f64 =
                        b[o] as f64 + (0..k).map(|i| x[r * k + i] as f64 * wt(o, i)).sum::<f64>();
                    assert!(close(t.tops[0].data[r * n + o], y), "y[{r},{o}]");
                }
                for i in 0..k {
                    let dx: f64 = (0..n).map(|o| dy[r * n + o] as f64 * wt(o, i)).sum();
                    assert!(close(t.bottoms[0].diff[r * k + i], dx), "dx[{r},{i}]");
                }
            }
            for o in 0..n {
                for i in 0..k {
                    let dw: f64 = (0..m)
                        .map(|r| dy[r * n + o] as f64 * x[r * k + i] as f64)
                        .sum();
                    let at = if transpose { i * n + o } else { o * k + i };
                    assert!(close(t.params[0].diff[at], dw), "dw[{o},{i}]");
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let zero = layer_param("type: \"InnerProduct\" inner_product_param { num_output: 0 }");
        assert!(InnerProduct::new(&zero).is_err());
        let filler = layer_param(
            "type: \"InnerProduct\" inner_product_param { num_output: 2 weight_filler { type: \"gausian\" } }",
        );
        assert!(InnerProduct::new(&filler).is_err());
        let p = layer_param("type: \"InnerProduct\" inner_product_param { num_output: 2 }");
        let mut l = InnerProduct::new(&p).unwrap();
        assert!(l.reshape(&[vec![2, 3]]).is_ok());
        let mut rng = Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Test,
            rng: &mut rng,
            param_propagate: &[],
        };
        let x = Blob::new(&[2, 3]);
        let mut tops = vec![Blob::new(&[2, 2])];
        // Missing bias, wrong weight size, wrong input size, wrong top size.
        let mut no_bias = vec![Blob::new(&[2, 3])];
        assert!(l.forward(&[&x], &mut tops, &mut no_bias, &mut ctx).is_err());
        let mut small = vec![Blob::new(&[2, 2]), Blob::new(&[2])];
        assert!(l.forward(&[&x], &mut tops, &mut small, &mut ctx).is_err());
        let mut params = vec![Blob::new(&[2, 3]), Blob::new(&[2])];
        let wide = Blob::new(&[2, 4]);
        assert!(l
            .forward(&[&wide], &mut tops, &mut params, &mut ctx)
            .is_err());
        let mut short = vec![Blob::new(&[1, 2])];
        assert!(l.forward(&[&x], &mut short, &mut params, &mut ctx).is_err());
        assert!(l.forward(&[&x], &mut tops, &mut params, &mut ctx).is_ok());
        let top_refs: Vec<&Blob> = short.iter().collect();
        let mut bottoms = vec![x.clone()];
        assert!(l
            .backward(&top_refs, &[true], &mut bottoms, &mut params, &mut ctx)
            .is_err());
        // An axis beyond the bottom's axes.
        let axis =
            layer_param("type: \"InnerProduct\" inner_product_param { num_output: 2 axis: 3 }");
        let mut l = InnerProduct::new(&axis).unwrap();
        assert!(l.reshape(&[vec![2, 3]]).is_err());
    }
}
