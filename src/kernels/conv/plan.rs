//! The way one layer's convolution runs, chosen once per shape: depthwise
//! kernels, or per-group GEMMs through the column matrix, without it
//! ([`implicit`]) or with a flipped kernel for the data gradient ([`flipped`]).
//! A [`Plan`] owns that choice and the per-worker scratch, and runs whole
//! batches: images are split into one contiguous range per worker thread, each
//! range with its own scratch (column matrix, weight and bias gradient sums),
//! and the per-range sums are added into the gradients in range order, so
//! results are bit-identical for a fixed thread count.
//!
//! A plan is either the convolution ([`ConvShape`] maps `x` → `y`) or its
//! transpose (`x` is the shape's output side, `y` its input side, as in Caffe's
//! Deconvolution; the weights keep the shape's layout).

use std::ops::Range;

use rayon::prelude::*;

use super::shape::ConvShape;
use super::{columns, depthwise, flipped, implicit};
use crate::kernels::gemm::Parallelism;

/// `output = W · im2col(input)` of one shape, with or without the column matrix.
#[derive(Debug, Clone, Copy)]
struct Product {
    shape: ConvShape,
    /// Whether single-threaded calls skip the column matrix ([`implicit::suits`]).
    implicit: bool,
}

impl Product {
    fn new(shape: ConvShape) -> Self {
        Product {
            shape,
            implicit: implicit::suits(&shape),
        }
    }

    fn scratch_len(&self) -> usize {
        let cols = columns::col_len(&self.shape);
        if self.implicit {
            cols.max(implicit::scratch_len(&self.shape))
        } else {
            cols
        }
    }

    fn run(
        &self,
        weights: &[f32],
        input: &[f32],
        output: &mut [f32],
        col: &mut [f32],
        par: Parallelism,
    ) {
        // The implicit tiles run on one thread: only where the batch is split
        // over threads outside.
        if self.implicit && matches!(par, Parallelism::None) {
            implicit::forward(&self.shape, weights, input, output, col);
        } else {
            columns::forward(&self.shape, weights, input, output, col, par);
        }
    }
}

/// How `Wᵀ` is applied to an output gradient (the input gradient).
enum DataGrad {
    /// `col2im(Wᵀ · output_grad)` ([`columns::backward_data`]).
    Col2im,
    /// The forward product of the flipped convolution, with its weights
    /// flipped once per pass, not per image.
    Flipped { product: Product, weights: Vec<f32> },
}

impl DataGrad {
    fn new(s: &ConvShape) -> Self {
        match flipped::shape(s) {
            Some(f) => DataGrad::Flipped {
                product: Product::new(f),
                weights: vec![0.0; s.weight_len()],
            },
            None => DataGrad::Col2im,
        }
    }

    fn scratch_len(&self, s: &ConvShape) -> usize {
        match self {
            DataGrad::Col2im => columns::col_len(s),
            DataGrad::Flipped { product, .. } => product.scratch_len(),
        }
    }

    /// Refreshes the flipped weights from `weights` (before a pass that runs).
    fn prepare(&mut self, s: &ConvShape, weights: &[f32]) {
        if let DataGrad::Flipped { weights: f, .. } = self {
            flipped::flip_weights(s, weights, f);
        }
    }

    /// `input_grad = Wᵀ · output_grad` for one image (input_grad overwritten).
    fn run(
        &self,
        s: &ConvShape,
        weights: &[f32],
        output_grad: &[f32],
        input_grad: &mut [f32],
        col: &mut [f32],
        par: Parallelism,
    ) {
        match self {
            DataGrad::Col2im => {
                columns::backward_data(s, weights, output_grad, input_grad, col, par)
            }
            DataGrad::Flipped { product, weights } => {
                product.run(weights, output_grad, input_grad, col, par)
            }
        }
    }
}

// One per layer, built at reshape: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Method {
    /// Every group has one channel in and one out ([`depthwise`]).
    Depthwise,
    /// Per-group GEMMs; `implicit_weights`: single-threaded weight gradients
    /// skip the column matrix ([`implicit::suits_weights`]).
    Grouped {
        product: Product,
        data_grad: DataGrad,
        implicit_weights: bool,
    },
}

/// One worker's buffers.
#[derive(Default)]
struct Scratch {
    col: Vec<f32>,
    /// This worker's weight-gradient sum: transposed per group on the GEMM path
    /// ([`columns::backward_weights_t`]), in the weights' layout when depthwise.
    weight_grad: Vec<f32>,
    bias_grad: Vec<f32>,
}

/// One batch of a backward pass: what the forward pass read, the gradient of
/// what it wrote, and where the gradient of `x` goes (overwritten), if wanted.
pub struct BackwardPass<'a> {
    pub x: &'a [f32],
    pub dy: &'a [f32],
    pub dx: Option<&'a mut [f32]>,
}

/// A batch convolution (or its transpose) of a fixed shape.
pub struct Plan {
    shape: ConvShape,
    transposed: bool,
    method: Method,
    images: usize,
    /// Values per image of `x` and of `y`, and channels of `y`.
    x_len: usize,
    y_len: usize,
    y_channels: usize,
    /// Scratch `col` lengths of a forward pass, of a backward pass, and of a
    /// backward pass that computes the gradient of `x`.
    forward_col: usize,
    backward_col: usize,
    data_grad_col: usize,
    scratch: Vec<Scratch>,
}

impl Plan {
    /// The plan for `images` images of shape `s`, transposed or not.
    pub fn new(s: ConvShape, transposed: bool, images: usize) -> Plan {
        let (method, forward_col, backward_col, data_grad_col) = if depthwise::applies(&s) {
            let len = depthwise::scratch_len(&s);
            (Method::Depthwise, len, len, len)
        } else {
            let product = Product::new(s);
            let data_grad = DataGrad::new(&s);
            let implicit_weights = implicit::suits_weights(&s);
            let cols = columns::col_len(&s);
            let (forward_col, backward_col, data_grad_col) = if transposed {
                (data_grad.scratch_len(&s), cols, cols)
            } else {
                let weight_col = if implicit_weights {
                    cols.max(implicit::scratch_len(&s))
                } else {
                    cols
                };
                let data_grad_col = weight_col.max(data_grad.scratch_len(&s));
                (product.scratch_len(), weight_col, data_grad_col)
            };
            let method = Method::Grouped {
                product,
                data_grad,
                implicit_weights,
            };
            (method, forward_col, backward_col, data_grad_col)
        };
        let (x_len, y_len, y_channels) = if transposed {
            (s.output_len(), s.input_len(), s.geom.channels)
        } else {
            (s.input_len(), s.output_len(), s.out_channels)
        };
        Plan {
            shape: s,
            transposed,
            method,
            images,
            x_len,
            y_len,
            y_channels,
            forward_col,
            backward_col,
            data_grad_col,
            scratch: Vec::new(),
        }
    }

    /// The most working memory the plan's passes allocate, in bytes: per worker, the
    /// largest column buffer and the weight and bias gradient sums (for memory budgets,
    /// before any pass has run).
    pub fn scratch_bytes(&self) -> u64 {
        let workers = ranges(self.images).0.max(1) as u64;
        let col = self
            .forward_col
            .max(self.backward_col)
            .max(self.data_grad_col) as u64;
        let sums = self.shape.weight_len() as u64 + self.y_channels as u64;
        workers
            .saturating_mul(col.saturating_add(sums))
            .saturating_mul(std::mem::size_of::<f32>() as u64)
    }

    pub fn shape(&self) -> &ConvShape {
        &self.shape
    }

    pub fn images(&self) -> usize {
        self.images
    }

    /// Values per image of `x` (what the forward pass reads).
    pub fn x_len(&self) -> usize {
        self.x_len
    }

    /// Values per image of `y` (what the forward pass writes).
    pub fn y_len(&self) -> usize {
        self.y_len
    }

    /// `y = conv(x) + bias` (or the transpose) for each `(x, y)` batch given, `y`
    /// overwritten; `bias` has one value per channel of `y`.
    pub fn forward<'a>(
        &mut self,
        weights: &[f32],
        bias: Option<&[f32]>,
        batches: impl IntoIterator<Item = (&'a [f32], &'a mut [f32])>,
    ) {
        let s = self.shape;
        assert!(
            weights.len() == s.weight_len(),
            "conv weights do not fit {s:?}"
        );
        assert!(
            bias.is_none_or(|b| b.len() == self.y_channels),
            "conv bias does not fit {s:?}"
        );
        let (images, x_len, y_len, transposed) =
            (self.images, self.x_len, self.y_len, self.transposed);
        let plane = y_len / self.y_channels.max(1);
        if let (true, Method::Grouped { data_grad, .. }) = (transposed, &mut self.method) {
            // The transpose's forward is the convolution's data gradient.
            data_grad.prepare(&s, weights);
        }
        let used = prepare_scratch(&mut self.scratch, images, self.forward_col, None);
        let (method, scratch) = (&self.method, &mut self.scratch[..used]);
        for (x, y) in batches {
            assert!(
                x.len() == images * x_len && y.len() == images * y_len,
                "conv batch does not fit {images} images of {s:?}"
            );
            let run = |range: Range<usize>, y: Option<&mut [f32]>, sc: &mut Scratch, par| {
                let y = y.expect("forward writes y");
                for (i, n) in range.enumerate() {
                    let xi = &x[n * x_len..(n + 1) * x_len];
                    let yi = &mut y[i * y_len..(i + 1) * y_len];
                    match (method, transposed) {
                        (Method::Depthwise, false) => {
                            depthwise::forward(&s, weights, xi, yi, &mut sc.col)
                        }
                        (Method::Depthwise, true) => depthwise::backward_data(&s, weights, xi, yi),
                        (Method::Grouped { product, .. }, false) => {
                            product.run(weights, xi, yi, &mut sc.col, par)
                        }
                        (Method::Grouped { data_grad, .. }, true) => {
                            data_grad.run(&s, weights, xi, yi, &mut sc.col, par)
                        }
                    }
                    if let Some(b) = bias {
                        for (p, &bv) in yi.chunks_mut(plane).zip(b) {
                            p.iter_mut().for_each(|v| *v += bv);
                        }
                    }
                }
            };
            run_chunks(scratch, images, Some((y, y_len)), run);
        }
    }

    /// For each batch given, writes the gradient of `x` where asked, and adds
    /// the gradients of the weights and of the bias (one value per channel of
    /// `y`) where given, summed over every batch.
    pub fn backward<'a>(
        &mut self,
        weights: &[f32],
        batches: impl IntoIterator<Item = BackwardPass<'a>>,
        mut weight_grad: Option<&mut [f32]>,
        mut bias_grad: Option<&mut [f32]>,
    ) {
        let s = self.shape;
        assert!(
            weights.len() == s.weight_len(),
            "conv weights do not fit {s:?}"
        );
        assert!(
            weight_grad
                .as_ref()
                .is_none_or(|g| g.len() == s.weight_len())
                && bias_grad
                    .as_ref()
                    .is_none_or(|g| g.len() == self.y_channels),
            "conv gradients do not fit {s:?}"
        );
        let (images, x_len, y_len, transposed) =
            (self.images, self.x_len, self.y_len, self.transposed);
        let plane = y_len / self.y_channels.max(1);
        let (want_weights, want_bias) = (weight_grad.is_some(), bias_grad.is_some());
        let sums = (want_weights || want_bias).then_some((s.weight_len(), self.y_channels));
        let used = prepare_scratch(&mut self.scratch, images, self.backward_col, sums);
        let mut flipped = false;
        for pass in batches {
            let BackwardPass { x, dy, dx } = pass;
            assert!(
                x.len() == images * x_len
                    && dy.len() == images * y_len
                    && dx.as_ref().is_none_or(|d| d.len() == images * x_len),
                "conv batch does not fit {images} images of {s:?}"
            );
            if dx.is_some() && !transposed && !flipped {
                if let Method::Grouped { data_grad, .. } = &mut self.method {
                    data_grad.prepare(&s, weights);
                }
                grow_cols(&mut self.scratch[..used], self.data_grad_col);
                flipped = true;
            }
            let method = &self.method;
            let run = |range: Range<usize>, dx: Option<&mut [f32]>, sc: &mut Scratch, par| {
                let mut dx = dx;
                for (i, n) in range.enumerate() {
                    let dyi = &dy[n * y_len..(n + 1) * y_len];
                    let xi = &x[n * x_len..(n + 1) * x_len];
                    let dxi = dx
                        .as_deref_mut()
                        .map(|d| &mut d[i * x_len..(i + 1) * x_len]);
                    if want_bias {
                        for (acc, p) in sc.bias_grad.iter_mut().zip(dyi.chunks(plane)) {
                            *acc += p.iter().sum::<f32>();
                        }
                    }
                    let dw = &mut sc.weight_grad;
                    match (method, transposed) {
                        (Method::Depthwise, false) => {
                            if want_weights {
                                depthwise::backward_weights(&s, xi, dyi, dw);
                            }
                            if let Some(dxi) = dxi {
                                depthwise::backward_data(&s, weights, dyi, dxi);
                            }
                        }
                        (Method::Depthwise, true) => {
                            // y is the input side, x the output side.
                            if want_weights {
                                depthwise::backward_weights(&s, dyi, xi, dw);
                            }
                            if let Some(dxi) = dxi {
                                depthwise::forward(&s, weights, dyi, dxi, &mut sc.col);
                            }
                        }
                        (
                            Method::Grouped {
                                data_grad,
                                implicit_weights,
                                ..
                            },
                            false,
                        ) => {
                            if want_weights {
                                if *implicit_weights && matches!(par, Parallelism::None) {
                                    implicit::backward_weights_t(&s, xi, dyi, dw, &mut sc.col);
                                } else {
                                    let cols = columns::column_matrix(&s, xi, &mut sc.col);
                                    columns::backward_weights_t(&s, cols, dyi, dw, par);
                                }
                            }
                            if let Some(dxi) = dxi {
                                data_grad.run(&s, weights, dyi, dxi, &mut sc.col, par);
                            }
                        }
                        (Method::Grouped { .. }, true) => {
                            if !want_weights && dxi.is_none() {
                                continue;
                            }
                            let cols = columns::column_matrix(&s, dyi, &mut sc.col);
                            if want_weights {
                                columns::backward_weights_t(&s, cols, xi, dw, par);
                            }
                            if let Some(dxi) = dxi {
                                columns::forward_cols(&s, weights, cols, dxi, par);
                            }
                        }
                    }
                }
            };
            run_chunks(
                &mut self.scratch[..used],
                images,
                dx.map(|d| (d, x_len)),
                run,
            );
        }
        // Per-range sums, added in range order; the GEMM path sums the weight
        // gradient transposed (see columns::backward_weights_t).
        for sc in &self.scratch[..used] {
            match (&mut weight_grad, &self.method) {
                (Some(dw), Method::Depthwise) => dw
                    .iter_mut()
                    .zip(&sc.weight_grad)
                    .for_each(|(d, g)| *d += g),
                (Some(dw), Method::Grouped { .. }) => {
                    columns::add_transposed_weights(&s, &sc.weight_grad, dw)
                }
                (None, _) => {}
            }
            if let Some(db) = &mut bias_grad {
                db.iter_mut().zip(&sc.bias_grad).for_each(|(d, g)| *d += g);
            }
        }
    }
}

/// Threads to use for `images` images: one range of images per worker.
fn ranges(images: usize) -> (usize, usize) {
    let threads = rayon::current_num_threads().max(1);
    let per = images.div_ceil(threads.min(images).max(1)).max(1);
    (images.div_ceil(per), per)
}

/// Sizes one scratch per range of images (clearing the gradient sums when
/// `sums` gives their lengths: weights, bias); returns how many ranges there are.
fn prepare_scratch(
    scratch: &mut Vec<Scratch>,
    images: usize,
    col: usize,
    sums: Option<(usize, usize)>,
) -> usize {
    let used = ranges(images).0.max(1);
    if scratch.len() < used {
        scratch.resize_with(used, Scratch::default);
    }
    grow_cols(&mut scratch[..used], col);
    for sc in &mut scratch[..used] {
        if let Some((weight_len, bias_len)) = sums {
            sc.weight_grad.clear();
            sc.weight_grad.resize(weight_len, 0.0);
            sc.bias_grad.clear();
            sc.bias_grad.resize(bias_len, 0.0);
        }
    }
    used
}

/// Makes every column buffer at least `len` long. They only grow: the kernels
/// overwrite what they read, so re-zeroing a buffer that a forward pass had
/// shortened would be wasted work on every backward pass.
fn grow_cols(scratch: &mut [Scratch], len: usize) {
    for sc in scratch {
        if sc.col.len() < len {
            sc.col.resize(len, 0.0);
        }
    }
}

/// Runs `f(images, out, scratch, parallelism)` over one contiguous range of
/// images per worker thread, in parallel; `out` (optional, `len` values per
/// image) is split the same way. With a single range, the GEMMs themselves use
/// every thread.
fn run_chunks<F>(scratch: &mut [Scratch], images: usize, out: Option<(&mut [f32], usize)>, f: F)
where
    F: Fn(Range<usize>, Option<&mut [f32]>, &mut Scratch, Parallelism) + Sync,
{
    if images == 0 {
        return;
    }
    let (used, per) = ranges(images);
    if used <= 1 {
        let threads = rayon::current_num_threads();
        let par = if threads > 1 {
            Parallelism::Rayon(threads)
        } else {
            Parallelism::None
        };
        f(0..images, out.map(|(o, _)| o), &mut scratch[0], par);
        return;
    }
    let outs: Vec<Option<&mut [f32]>> = match out {
        Some((o, len)) => o.chunks_mut(per * len).map(Some).collect(),
        None => (0..used).map(|_| None).collect(),
    };
    outs.into_par_iter()
        .zip(scratch[..used].par_iter_mut())
        .enumerate()
        .for_each(|(r, (o, sc))| {
            f(
                r * per..((r + 1) * per).min(images),
                o,
                sc,
                Parallelism::None,
            )
        });
}
