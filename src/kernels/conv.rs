//! One image's grouped 2-D convolution as im2col + GEMM, in the three shapes
//! training needs. Terms are those of the convolution itself: the *input* side
//! (`geom.channels` × height × width) is what the kernel slides over, the
//! *output* side has `out_channels` × out_height × out_width. The weights are
//! `[out_channels, channels / group, kernel_h, kernel_w]`.
//!
//! Deconvolution is the same convolution run the other way: its bottom is the
//! output side and its top the input side.

use super::gemm::{sgemm, Parallelism};
use super::im2col::{col2im, im2col, Geom2d};
use super::implicit_conv;

/// A grouped convolution of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub geom: Geom2d,
    pub out_channels: usize,
    pub group: usize,
}

impl ConvShape {
    pub fn input_len(&self) -> usize {
        self.geom.input_len()
    }

    pub fn output_len(&self) -> usize {
        self.out_channels * self.geom.col_cols()
    }

    pub fn weight_len(&self) -> usize {
        self.out_channels * self.geom.col_rows() / self.group
    }

    /// Length of the column buffer the primitives need (0 for pointwise kernels,
    /// which use the input directly).
    pub fn col_len(&self) -> usize {
        if self.geom.is_pointwise() {
            0
        } else {
            self.geom.im2col_len().max(implicit_conv::scratch_len(self))
        }
    }

    /// (output channels, column rows, output positions) of one group's GEMMs.
    fn group_dims(&self) -> (usize, usize, usize) {
        (
            self.out_channels / self.group,
            self.geom.col_rows() / self.group,
            self.geom.col_cols(),
        )
    }

    fn check(&self, input: usize, output: usize, weights: usize, col: usize) {
        assert!(
            input >= self.input_len()
                && output >= self.output_len()
                && weights >= self.weight_len()
                && col >= self.col_len(),
            "conv buffers too small for {self:?}"
        );
    }
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

/// `output = W · im2col(input)` per group (output overwritten); stride-1 kernels
/// on AVX-512 or AVX2 CPUs skip the column matrix ([`implicit_conv`]).
pub fn forward(
    s: &ConvShape,
    weights: &[f32],
    input: &[f32],
    output: &mut [f32],
    col: &mut [f32],
    par: Parallelism,
) {
    s.check(input.len(), output.len(), weights.len(), col.len());
    if implicit_conv::applies(s, par) {
        implicit_conv::forward(s, weights, input, output, col);
        return;
    }
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
    s.check(
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

/// How to compute the input gradient (`Wᵀ` applied to an output gradient):
/// the input gradient of a stride-1 convolution is itself a stride-1
/// convolution of the output gradient, with the kernel flipped and its in and
/// out channels swapped. That runs as the forward GEMM (K = out_channels·k²),
/// which is far faster than the col2im product (K = out_channels) and needs
/// no col2im scatter.
#[derive(Debug, Clone)]
pub enum DataGrad {
    /// [`backward_data`]: `col2im(Wᵀ · output_grad)`.
    Col2im,
    /// [`forward`] of this convolution and its weights.
    Flipped { shape: ConvShape, weights: Vec<f32> },
}

impl DataGrad {
    /// The plan for `s` with `weights` (flipped once here, not per image).
    pub fn plan(s: &ConvShape, weights: &[f32]) -> DataGrad {
        let g = &s.geom;
        // The flipped convolution computes every input position from a fully
        // padded output gradient: with little padding (LeNet's unpadded 5×5
        // convs) that is up to 2.25× the products of col2im's GEMM, so it is only
        // taken when the input is at most a quarter larger than the output.
        let applies = !g.is_pointwise()
            && g.is_dense_stride_one()
            && (0..2).all(|a| g.pad[a] < g.extent(a))
            && 4 * g.height * g.width <= 5 * g.out_height * g.out_width;
        if !applies || weights.len() < s.weight_len() {
            return DataGrad::Col2im;
        }
        let shape = ConvShape {
            geom: Geom2d {
                channels: s.out_channels,
                height: g.out_height,
                width: g.out_width,
                kernel: g.kernel,
                pad: [g.extent(0) - 1 - g.pad[0], g.extent(1) - 1 - g.pad[1]],
                stride: [1, 1],
                dilation: g.dilation,
                out_height: g.height,
                out_width: g.width,
            },
            out_channels: g.channels,
            group: s.group,
        };
        // flipped[g·cg + i][o][kh][kw] = w[g·og + o][i][kk_h − 1 − kh][kk_w − 1 − kw]
        let (og, cg) = (s.out_channels / s.group, g.channels / s.group);
        let [kh_n, kw_n] = g.kernel;
        let kk = kh_n * kw_n;
        let mut flipped = vec![0.0; s.weight_len()];
        for grp in 0..s.group {
            for i in 0..cg {
                for o in 0..og {
                    let src = &weights[((grp * og + o) * cg + i) * kk..][..kk];
                    let dst = &mut flipped[((grp * cg + i) * og + o) * kk..][..kk];
                    for (d, v) in dst.iter_mut().zip(src.iter().rev()) {
                        *d = *v;
                    }
                }
            }
        }
        DataGrad::Flipped {
            shape,
            weights: flipped,
        }
    }

    /// Scratch `col` length [`DataGrad::run`] needs.
    pub fn col_len(&self, s: &ConvShape) -> usize {
        match self {
            DataGrad::Col2im => s.col_len(),
            DataGrad::Flipped { shape, .. } => shape.col_len(),
        }
    }

    /// `input_grad = Wᵀ · output_grad` for one image (input_grad overwritten).
    pub fn run(
        &self,
        s: &ConvShape,
        weights: &[f32],
        output_grad: &[f32],
        input_grad: &mut [f32],
        col: &mut [f32],
        par: Parallelism,
    ) {
        match self {
            DataGrad::Col2im => backward_data(s, weights, output_grad, input_grad, col, par),
            DataGrad::Flipped { shape, weights } => {
                forward(shape, weights, output_grad, input_grad, col, par)
            }
        }
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
    s.check(input.len(), output_grad.len(), weight_grad.len(), col.len());
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

/// [`backward_weights_t`] for one image from its input: through the column matrix
/// (built in `col`), or without one where [`implicit_conv::applies`].
pub fn backward_weights_image(
    s: &ConvShape,
    input: &[f32],
    output_grad: &[f32],
    weight_grad_t: &mut [f32],
    col: &mut [f32],
    par: Parallelism,
) {
    if implicit_conv::applies_to_weights(s, par) {
        implicit_conv::backward_weights_t(s, input, output_grad, weight_grad_t, col);
        return;
    }
    let cols = column_matrix(s, input, col);
    backward_weights_t(s, cols, output_grad, weight_grad_t, par);
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
        input.len() >= s.input_len() && col.len() >= s.col_len(),
        "conv buffers too small for {s:?}"
    );
    columns(s, input, col)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kernels::im2col::tests::random_geom;
    use crate::rng::Rng;

    /// Direct convolution from the definition, in f64.
    pub(crate) fn naive_forward(s: &ConvShape, w: &[f32], x: &[f32]) -> Vec<f32> {
        let g = &s.geom;
        let cg = g.channels / s.group;
        let og = s.out_channels / s.group;
        let mut y = vec![0.0; s.output_len()];
        for o in 0..s.out_channels {
            let grp = o / og;
            for oh in 0..g.out_height {
                for ow in 0..g.out_width {
                    let mut acc = 0.0f64;
                    for ci in 0..cg {
                        let c = grp * cg + ci;
                        for ki in 0..g.kernel[0] {
                            for kj in 0..g.kernel[1] {
                                let ih = (oh * g.stride[0] + ki * g.dilation[0]) as isize
                                    - g.pad[0] as isize;
                                let iw = (ow * g.stride[1] + kj * g.dilation[1]) as isize
                                    - g.pad[1] as isize;
                                if ih < 0
                                    || iw < 0
                                    || ih as usize >= g.height
                                    || iw as usize >= g.width
                                {
                                    continue;
                                }
                                let xv = x[(c * g.height + ih as usize) * g.width + iw as usize];
                                let wv = w[((o * cg + ci) * g.kernel[0] + ki) * g.kernel[1] + kj];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[(o * g.out_height + oh) * g.out_width + ow] = acc as f32;
                }
            }
        }
        y
    }

    pub(crate) fn random_shape(rng: &mut Rng) -> ConvShape {
        let mut geom = random_geom(rng);
        let group = 1 + rng.below(3) as usize;
        geom.channels = group * (1 + rng.below(3) as usize);
        let out_channels = group * (1 + rng.below(3) as usize);
        ConvShape {
            geom,
            out_channels,
            group,
        }
    }

    fn rand(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn primitives_match_the_definition() {
        let mut rng = Rng::new(21);
        let mut flipped_cases = 0;
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
            let mut col = vec![f32::NAN; s.col_len()];

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
            // The planned data gradient (flipped kernel where it applies) agrees.
            let plan = DataGrad::plan(&s, &w);
            flipped_cases += matches!(plan, DataGrad::Flipped { .. }) as usize;
            let mut col2 = vec![f32::NAN; plan.col_len(&s)];
            let mut dx2 = vec![f32::NAN; s.input_len()];
            plan.run(&s, &w, &dy, &mut dx2, &mut col2, Parallelism::None);
            for (a, b) in dx2.iter().zip(&dx) {
                assert!(close(*a as f64, *b as f64), "{s:?} {plan:?}: {a} vs {b}");
            }
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
        assert!(
            flipped_cases >= 5,
            "only {flipped_cases} flipped-kernel cases"
        );
    }
}
