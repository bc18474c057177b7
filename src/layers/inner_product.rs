//! InnerProduct: a fully connected layer over every axis from `axis` on.
//!
//! With M = count(0, axis), K = count(axis) and N = num_output, Caffe's three
//! products (inner_product_layer.cpp):
//! - forward: Y (M×N) = X·Wᵀ, or X·W when `transpose` (W stored K×N), plus 1·bᵀ;
//! - weight gradient (accumulated): dW += dYᵀ·X, or Xᵀ·dY when `transpose`;
//! - bias gradient (accumulated): db += dYᵀ·1;
//! - bottom gradient (overwritten): dX = dY·W, or dY·Wᵀ when `transpose`.

use super::{canonical_axis, count, BlobCounts, Layer, RunContext, Shape};
use crate::blob::Blob;
use crate::fillers;
use crate::proto::{FillerParameter, LayerParameter};

pub struct InnerProduct {
    num_output: usize,
    bias: bool,
    transpose: bool,
    axis: i32,
    inputs: usize,
    weight_filler: FillerParameter,
    bias_filler: FillerParameter,
}

/// Products at least this large (m·n·k) let `gemm` use the rayon pool.
const PARALLEL_MACS: usize = 1 << 18;

/// A row-major matrix operand: `data` holds `rows(op) × cols(op)` values, stored
/// transposed when `trans` (so it is read as its transpose).
#[derive(Clone, Copy)]
struct Operand<'a> {
    data: &'a [f32],
    trans: bool,
}

/// C (m×n, row-major) = op(A) (m×k) · op(B) (k×n), added to C when `accumulate`.
/// Returns an error instead of touching memory when a buffer is too small.
fn gemm_rm(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
    c: &mut [f32],
    accumulate: bool,
) -> Result<(), String> {
    let (Some(mn), Some(mk), Some(kn)) = (m.checked_mul(n), m.checked_mul(k), k.checked_mul(n))
    else {
        return Err("matrix sizes overflow".into());
    };
    if c.len() < mn || a.data.len() < mk || b.data.len() < kn {
        return Err(format!(
            "matrix buffers too small for a {m}×{k} by {k}×{n} product"
        ));
    }
    if mn == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            c[..mn].fill(0.0);
        }
        return Ok(());
    }
    // Strides (column stride, row stride) of the operands as row-major views.
    let (a_cs, a_rs) = if a.trans { (m, 1) } else { (1, k) };
    let (b_cs, b_rs) = if b.trans { (k, 1) } else { (1, n) };
    let parallelism = if mn.saturating_mul(k) >= PARALLEL_MACS {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every index the product reads or writes lies inside the slices,
    // whose lengths were checked above against the m, n, k extents and strides.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.data.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
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
        let x = Operand {
            data: &bottoms[0].data,
            trans: false,
        };
        // W is N×K (read as Wᵀ, K×N) or, transposed, K×N.
        let w = Operand {
            data: &params[0].data,
            trans: !self.transpose,
        };
        gemm_rm(m, n, k, x, w, top, false)?;
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
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let (m, k, n) = self.dims(&bottoms[0], params)?;
        let dy = &tops[0].diff;
        if dy.len() != m * n {
            return Err(format!("top holds {} values, {m}×{n} expected", dy.len()));
        }
        let dy_op = |trans| Operand { data: dy, trans };
        // Weight gradient, accumulated.
        {
            let x = &bottoms[0].data;
            let w = &mut params[0].diff;
            if self.transpose {
                // dW (K×N) += Xᵀ (K×M) · dY (M×N).
                gemm_rm(
                    k,
                    n,
                    m,
                    Operand {
                        data: x,
                        trans: true,
                    },
                    dy_op(false),
                    w,
                    true,
                )?;
            } else {
                // dW (N×K) += dYᵀ (N×M) · X (M×K).
                gemm_rm(
                    n,
                    k,
                    m,
                    dy_op(true),
                    Operand {
                        data: x,
                        trans: false,
                    },
                    w,
                    true,
                )?;
            }
        }
        if self.bias {
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
            let w = Operand {
                data: &params[0].data,
                trans: self.transpose,
            };
            gemm_rm(m, k, n, dy_op(false), w, &mut bottoms[0].diff, false)?;
        }
        Ok(())
    }

    fn forward_macs(&self, _bottoms: &[Shape], tops: &[Shape]) -> u64 {
        count(&tops[0]) as u64 * self.inputs as u64
    }
}
