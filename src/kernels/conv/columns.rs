//! One image's grouped 2-D convolution as im2col + GEMM, in the three shapes
//! training needs (terms and weight layout of [`ConvShape`]).

use super::shape::ConvShape;
use crate::kernels::gemm::{sgemm, Parallelism};
use crate::kernels::im2col::{col2im, im2col};

/// Length of the column buffer these primitives need (0 for pointwise kernels,
/// which use the input directly).
pub fn col_len(s: &ConvShape) -> usize {
    if s.geom.is_pointwise() {
        0
    } else {
        s.geom.im2col_len()
    }
}

fn check(s: &ConvShape, input: usize, output: usize, weights: usize, col: usize) {
    assert!(
        input >= s.input_len()
            && output >= s.output_len()
            && weights >= s.weight_len()
            && col >= col_len(s),
        "conv buffers too small for {s:?}"
    );
}

/// The column matrix of `input`: `col` itself after im2col, or the input when
/// the kernel is pointwise.
fn columns<'a>(s: &ConvShape, input: &'a [f32], col: &'a mut [f32]) -> &'a [f32] {
    if s.geom.is_pointwise() {
        input
    } else {
        im2col(&s.geom, input, col);
        col
    }
}

/// `output = W · im2col(input)` per group (output overwritten).
pub fn forward(
    s: &ConvShape,
    weights: &[f32],
    input: &[f32],
    output: &mut [f32],
    col: &mut [f32],
    par: Parallelism,
) {
    check(s, input.len(), output.len(), weights.len(), col.len());
    let cols = columns(s, input, col);
    forward_cols(s, weights, cols, output, par);
}

/// `output = W · cols` per group, for a column matrix already built.
pub fn forward_cols(
    s: &ConvShape,
    weights: &[f32],
    cols: &[f32],
    output: &mut [f32],
    par: Parallelism,
) {
    let (m, k, n) = s.group_dims();
    for g in 0..s.group {
        sgemm(
            false,
            false,
            m,
            n,
            k,
            1.0,
            &weights[g * m * k..(g + 1) * m * k],
            k,
            &cols[g * k * n..(g + 1) * k * n],
            n,
            0.0,
            &mut output[g * m * n..(g + 1) * m * n],
            n,
            par,
        );
    }
}

/// `input_grad = col2im(Wᵀ · output_grad)` per group (input_grad overwritten).
pub fn backward_data(
    s: &ConvShape,
    weights: &[f32],
    output_grad: &[f32],
    input_grad: &mut [f32],
    col: &mut [f32],
    par: Parallelism,
) {
    check(
        s,
        input_grad.len(),
        output_grad.len(),
        weights.len(),
        col.len(),
    );
    if s.geom.is_pointwise() {
        // A pointwise kernel's column matrix is the input itself.
        col_grad(s, weights, output_grad, input_grad, par);
    } else {
        col_grad(s, weights, output_grad, col, par);
        col2im(&s.geom, col, input_grad);
    }
}

/// `dcol = Wᵀ · output_grad` per group (dcol overwritten).
pub fn col_grad(
    s: &ConvShape,
    weights: &[f32],
    output_grad: &[f32],
    dcol: &mut [f32],
    par: Parallelism,
) {
    let (m, k, n) = s.group_dims();
    for g in 0..s.group {
        sgemm(
            true,
            false,
            k,
            n,
            m,
            1.0,
            &weights[g * m * k..(g + 1) * m * k],
            k,
            &output_grad[g * m * n..(g + 1) * m * n],
            n,
            0.0,
            &mut dcol[g * k * n..(g + 1) * k * n],
            n,
            par,
        );
    }
}

/// `weight_grad += output_grad · im2col(input)ᵀ` per group.
pub fn backward_weights(
    s: &ConvShape,
    input: &[f32],
    output_grad: &[f32],
    weight_grad: &mut [f32],
    col: &mut [f32],
    par: Parallelism,
) {
    check(
        s,
        input.len(),
        output_grad.len(),
        weight_grad.len(),
        col.len(),
    );
    let cols = columns(s, input, col);
    let mut transposed = vec![0.0; s.weight_len()];
    backward_weights_t(s, cols, output_grad, &mut transposed, par);
    add_transposed_weights(s, &transposed, weight_grad);
}

/// `weight_grad_t += cols · output_gradᵀ` per group: the weight gradient
/// transposed (per group, column rows × output channels). Both products are
/// contracted over output positions, the contiguous axis of both operands; in
/// this orientation the GEMM packs the small output gradient, not the large
/// column matrix, and runs about twice as fast as `output_grad · colsᵀ`.
/// [`add_transposed_weights`] turns the sum into the weights' layout.
pub fn backward_weights_t(
    s: &ConvShape,
    cols: &[f32],
    output_grad: &[f32],
    weight_grad_t: &mut [f32],
    par: Parallelism,
) {
    let (m, k, n) = s.group_dims();
    for g in 0..s.group {
        sgemm(
            false,
            true,
            k,
            m,
            n,
            1.0,
            &cols[g * k * n..(g + 1) * k * n],
            n,
            &output_grad[g * m * n..(g + 1) * m * n],
            n,
            1.0,
            &mut weight_grad_t[g * m * k..(g + 1) * m * k],
            m,
            par,
        );
    }
}

/// `weight_grad += weight_grad_t` transposed back per group (see
/// [`backward_weights_t`]).
pub fn add_transposed_weights(s: &ConvShape, weight_grad_t: &[f32], weight_grad: &mut [f32]) {
    let (m, k, _) = s.group_dims();
    for (t, w) in weight_grad_t
        .chunks_exact(m * k)
        .zip(weight_grad.chunks_exact_mut(m * k))
        .take(s.group)
    {
        for (i, row) in w.chunks_exact_mut(k).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v += t[j * m + i];
            }
        }
    }
}

/// Builds the column matrix of `input` into `col` and returns it (or the input
/// itself for pointwise kernels), for callers that use it twice.
pub fn column_matrix<'a>(s: &ConvShape, input: &'a [f32], col: &'a mut [f32]) -> &'a [f32] {
    assert!(
        input.len() >= s.input_len() && col.len() >= col_len(s),
        "conv buffers too small for {s:?}"
    );
    columns(s, input, col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::testing::{close, dot, naive_forward, rand, random_shape};
    use crate::rng::Rng;

    #[test]
    fn primitives_match_the_definition() {
        let mut rng = Rng::new(21);
        for case in 0..600 {
            let mut s = random_shape(&mut rng);
            if case % 10 == 0 {
                // Pointwise kernels take the path without im2col.
                s.geom.kernel = [1, 1];
                s.geom.stride = [1, 1];
                s.geom.pad = [0, 0];
                s.geom.out_height = s.geom.height;
                s.geom.out_width = s.geom.width;
            }
            let w = rand(&mut rng, s.weight_len());
            let x = rand(&mut rng, s.input_len());
            let dy = rand(&mut rng, s.output_len());
            let mut col = vec![f32::NAN; col_len(&s)];

            let mut y = vec![f32::NAN; s.output_len()];
            forward(&s, &w, &x, &mut y, &mut col, Parallelism::None);
            let want = naive_forward(&s, &w, &x);
            for (a, b) in y.iter().zip(&want) {
                assert!(close(*a as f64, *b as f64), "{s:?}: {a} vs {b}");
            }
            // backward_data is the adjoint of forward in x: <f(x), dy> = <x, b(dy)>.
            let mut dx = vec![f32::NAN; s.input_len()];
            backward_data(&s, &w, &dy, &mut dx, &mut col, Parallelism::None);
            assert!(close(dot(&want, &dy), dot(&x, &dx)), "{s:?}");
            // backward_weights accumulates the gradient in w: <f_w(x), dy> = <w, dW>.
            let mut dw = vec![0.0; s.weight_len()];
            backward_weights(&s, &x, &dy, &mut dw, &mut col, Parallelism::None);
            assert!(close(dot(&want, &dy), dot(&w, &dw)), "{s:?}");
            let once = dw.clone();
            backward_weights(&s, &x, &dy, &mut dw, &mut col, Parallelism::None);
            for (a, b) in dw.iter().zip(&once) {
                assert!((a - 2.0 * b).abs() <= 1e-5 * (1.0 + b.abs()));
            }
        }
    }
}
