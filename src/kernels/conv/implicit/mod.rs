//! Stride-1 convolution without a column matrix (an "implicit GEMM"), for CPUs
//! with AVX-512 or AVX2+FMA (the vector tiles are in `tiles.rs`). With the image
//! zero-padded to `hp × wp`, output position `i = oh·wp + ow` of kernel tap
//! `(c, ki, kj)` reads padded value `c·hp·wp + ki·dh·wp + kj·dw + i`: for every
//! tap, the outputs of consecutive positions read consecutive inputs. So the GEMM
//! `W · im2col(x)` can load its right-hand operand straight from the padded
//! image, two registers of positions at a time,
//! instead of writing and re-reading (and the GEMM library re-packing) a column
//! matrix 25 times the image's size. Outputs are computed on rows `wp` long; the
//! `wp − out_width` extra columns of each row are dropped at the end.
//!
//! Each output value is one sequential sum over the taps in Caffe's order
//! (c, ki, kj), with fused multiply-adds; im2col + GEMM rounds differently, within
//! the fixtures' tolerance.

use super::shape::ConvShape;
use crate::kernels::im2col::{copy_row, pad_image};

#[cfg(target_arch = "x86_64")]
mod tiles;

/// Wide rows are rounded up to whole blocks of this many positions (one AVX-512
/// register, two AVX2 registers), and output channels per group must be a
/// multiple of it for the weight-gradient tiles.
const LANES: usize = 16;

/// The padded image and the wide output rows of one group.
struct Layout {
    /// Padded rows and columns.
    hp: usize,
    wp: usize,
    /// Padded values of the group's channels, with slack so that the last
    /// register of the last tap stays inside the buffer.
    padded_len: usize,
    /// Output positions on `wp`-long rows, rounded up to whole registers.
    wide_len: usize,
}

impl Layout {
    fn of(s: &ConvShape) -> Self {
        let g = &s.geom;
        let (hp, wp) = (g.height + 2 * g.pad[0], g.width + 2 * g.pad[1]);
        let channels = g.channels / s.group;
        let wide_len = (g.out_height * wp).next_multiple_of(LANES);
        // The largest tap offset plus wide_len ends at most (kw−1)·dw + LANES
        // values past the last plane (stride 1: out_height + (kh−1)·dh = hp).
        let slack = g.extent(1) - 1 + LANES;
        Layout {
            hp,
            wp,
            padded_len: channels * hp * wp + slack,
            wide_len,
        }
    }
}

/// Whether [`forward`] is the faster product for `s`: a shape it can compute,
/// with at most a quarter more work on the wide rows (cifar10_quick's 8×8
/// conv3, 12 wide padded, is faster through the column matrix). It runs on one
/// thread, so it only pays where the batch is split over threads outside.
pub fn suits(s: &ConvShape) -> bool {
    let g = &s.geom;
    4 * (g.width + 2 * g.pad[1]) <= 5 * g.out_width && computable(s)
}

/// Shapes the kernels handle: stride 1, a real (not 1×1) kernel, Caffe's output
/// size, on a CPU with AVX-512 or AVX2+FMA.
fn computable(s: &ConvShape) -> bool {
    s.geom.is_dense_stride_one() && !s.geom.is_pointwise() && isa().is_some()
}

/// The instruction sets the vector tiles are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
}

impl Isa {
    /// Every instruction set this CPU runs the tiles with, widest first.
    pub fn available() -> Vec<Isa> {
        [(Isa::Avx512, has_avx512()), (Isa::Avx2, has_avx2_fma())]
            .into_iter()
            .filter_map(|(isa, present)| present.then_some(isa))
            .collect()
    }
}

/// The widest instruction set this CPU runs the tiles with (std caches the
/// feature checks, so this is cheap per call).
fn isa() -> Option<Isa> {
    if has_avx512() {
        Some(Isa::Avx512)
    } else if has_avx2_fma() {
        Some(Isa::Avx2)
    } else {
        None
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// Scratch values [`forward`] needs: the padded image and the wide output.
pub fn scratch_len(s: &ConvShape) -> usize {
    let layout = Layout::of(s);
    layout.padded_len + (s.out_channels / s.group) * layout.wide_len
}

/// `output = W · im2col(input)` per group (output overwritten), for shapes
/// [`computable`] here.
///
/// # Panics
/// On a geometry the tiles cannot read safely (see [`GroupPass::new`]), buffers
/// shorter than `s` needs, or a CPU without AVX-512 or AVX2+FMA.
pub fn forward(
    s: &ConvShape,
    weights: &[f32],
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
) {
    let pass = GroupPass::new(s, input.len(), output.len(), weights.len(), scratch.len());
    let isa = isa().expect("implicit convolution needs AVX-512 or AVX2+FMA");
    forward_with(isa, &pass, weights, input, output, scratch);
}

fn forward_with(
    isa: Isa,
    pass: &GroupPass,
    weights: &[f32],
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
) {
    let s = pass.s;
    let (g, layout, og, k, ohw) = (&s.geom, &pass.layout, pass.og, pass.k, pass.ohw);
    for grp in 0..s.group {
        let (padded, wide) = pass.pad_group(input, grp, scratch);
        let wide = &mut wide[..og * layout.wide_len];
        let w = &weights[grp * og * k..(grp + 1) * og * k];
        // SAFETY: `isa` came from the CPU's feature checks; wide_len is a multiple
        // of 16; every read stays inside `padded` (Layout's slack, for the
        // geometry GroupPass::new checked) and `w`, every write inside `wide`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            tiles::gemm(isa, og, layout.wide_len, w, padded, &pass.offsets, wide)
        };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("{isa:?} tiles exist on x86-64 only");
        let out = &mut output[grp * og * ohw..(grp + 1) * og * ohw];
        for (dst, src) in out
            .chunks_exact_mut(ohw)
            .zip(wide.chunks_exact(layout.wide_len))
        {
            for (row, wide_row) in dst.chunks_exact_mut(g.out_width).zip(src.chunks(layout.wp)) {
                copy_row(row, wide_row);
            }
        }
    }
}

/// `weight_grad_t += (output_grad · im2col(input)ᵀ)ᵀ` per group, in the transposed
/// layout of [`super::columns::backward_weights_t`] (per group: taps × output
/// channels). Output channels go across the vector lanes (the gradient is
/// transposed to positions × channels first) and each tap's input value is
/// broadcast, so every product lands in its own lane and nothing needs a
/// horizontal sum. For shapes [`computable`] here with [`weight_lanes_fit`]
/// ([`suits_weights`] says when it is the faster path).
///
/// # Panics
/// As [`forward`], and when the output channels per group are not a multiple
/// of 16.
pub fn backward_weights_t(
    s: &ConvShape,
    input: &[f32],
    output_grad: &[f32],
    weight_grad_t: &mut [f32],
    scratch: &mut [f32],
) {
    assert!(
        weight_lanes_fit(s),
        "output channels per group must be a multiple of 16"
    );
    let pass = GroupPass::new(
        s,
        input.len(),
        output_grad.len(),
        weight_grad_t.len(),
        scratch.len(),
    );
    let isa = isa().expect("implicit convolution needs AVX-512 or AVX2+FMA");
    backward_weights_t_with(isa, &pass, input, output_grad, weight_grad_t, scratch);
}

fn backward_weights_t_with(
    isa: Isa,
    pass: &GroupPass,
    input: &[f32],
    output_grad: &[f32],
    weight_grad_t: &mut [f32],
    scratch: &mut [f32],
) {
    let s = pass.s;
    let (g, og, k, ohw) = (&s.geom, pass.og, pass.k, pass.ohw);
    // Where each output position reads in a tap's run.
    let positions: Vec<usize> = (0..g.out_height)
        .flat_map(|oh| (0..g.out_width).map(move |ow| oh * pass.layout.wp + ow))
        .collect();
    for grp in 0..s.group {
        let (padded, rest) = pass.pad_group(input, grp, scratch);
        let dy_t = &mut rest[..ohw * og];
        let dy = &output_grad[grp * og * ohw..(grp + 1) * og * ohw];
        for (m, row) in dy.chunks_exact(ohw).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                dy_t[j * og + m] = v;
            }
        }
        let dw = &mut weight_grad_t[grp * og * k..(grp + 1) * og * k];
        // SAFETY: `isa` came from the CPU's feature checks; reads stay inside
        // `padded` (every position is a valid output's) and `dy_t`, writes inside
        // `dw`; og is a multiple of 16 (asserted by backward_weights_t).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            tiles::weight_gemm(isa, og, dy_t, &positions, padded, &pass.offsets, dw)
        };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("{isa:?} tiles exist on x86-64 only");
    }
}

/// Whether [`backward_weights_t`] is the faster path for `s`: a shape it can
/// compute whose output channels per group fill whole vector registers (one
/// thread, like [`forward`]). It reads only valid positions, so unlike
/// [`forward`] it wastes nothing on narrow images.
pub fn suits_weights(s: &ConvShape) -> bool {
    weight_lanes_fit(s) && computable(s)
}

fn weight_lanes_fit(s: &ConvShape) -> bool {
    (s.out_channels / s.group).is_multiple_of(LANES)
}

/// What [`forward`] and [`backward_weights_t`] share for one call: the sizes of
/// a group, where each tap starts in the padded layout, and the padding of each
/// group's input into the front of the scratch.
struct GroupPass<'a> {
    s: &'a ConvShape,
    layout: Layout,
    /// Output channels and taps (input channels · kernel) per group.
    og: usize,
    k: usize,
    /// Input and output positions per channel.
    hw: usize,
    ohw: usize,
    /// Where tap (c, ki, kj) of a group starts in the padded layout, in Caffe's
    /// weight order.
    offsets: Vec<usize>,
}

impl<'a> GroupPass<'a> {
    /// Checks, once per call, what the tiles' unchecked reads rely on: a
    /// stride-1 geometry with Caffe's output size (so every tap of every wide
    /// row stays inside the padded image and its slack) in whole groups, and
    /// the buffer sizes: an image, an output (or its gradient), the weights (or
    /// their gradient) and the scratch.
    fn new(s: &'a ConvShape, input: usize, output: usize, weights: usize, scratch: usize) -> Self {
        let g = &s.geom;
        assert!(
            g.is_dense_stride_one()
                && s.group > 0
                && g.channels.is_multiple_of(s.group)
                && s.out_channels.is_multiple_of(s.group),
            "implicit convolution needs stride 1, Caffe's output size and whole groups, not {s:?}"
        );
        let layout = Layout::of(s);
        let (cg, og) = (g.channels / s.group, s.out_channels / s.group);
        let k = cg * g.kernel[0] * g.kernel[1];
        let (hw, ohw) = (g.height * g.width, g.col_cols());
        assert!(
            input >= g.channels * hw
                && output >= s.out_channels * ohw
                && weights >= s.out_channels * k
                && scratch >= scratch_len(s),
            "implicit convolution buffers do not fit {s:?}"
        );
        let plane = layout.hp * layout.wp;
        let offsets = (0..cg)
            .flat_map(|c| (0..g.kernel[0]).map(move |ki| (c, ki)))
            .flat_map(|(c, ki)| (0..g.kernel[1]).map(move |kj| (c, ki, kj)))
            .map(|(c, ki, kj)| c * plane + ki * g.dilation[0] * layout.wp + kj * g.dilation[1])
            .collect();
        GroupPass {
            s,
            layout,
            og,
            k,
            hw,
            ohw,
            offsets,
        }
    }

    /// Pads group `grp`'s channels of `input` (im2col's zero padding) into the
    /// front of `scratch`; returns the padded group and the rest of the scratch.
    fn pad_group<'s>(
        &self,
        input: &[f32],
        grp: usize,
        scratch: &'s mut [f32],
    ) -> (&'s [f32], &'s mut [f32]) {
        let cg = self.s.geom.channels / self.s.group;
        let (padded, rest) = scratch.split_at_mut(self.layout.padded_len);
        let (planes, slack) = padded.split_at_mut(cg * self.layout.hp * self.layout.wp);
        pad_image(
            &self.s.geom,
            &input[grp * cg * self.hw..(grp + 1) * cg * self.hw],
            planes,
        );
        // Only wide columns that are dropped read the slack; keep it finite.
        slack.fill(0.0);
        (padded, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::columns;
    use crate::kernels::conv::testing::{naive_forward, rand, random_shape};
    use crate::kernels::gemm::Parallelism;
    use crate::kernels::im2col::Geom2d;
    use crate::rng::Rng;

    #[test]
    fn matches_the_definition() {
        if Isa::available().is_empty() {
            eprintln!("no AVX2+FMA: the implicit path is never taken on this CPU");
            return;
        }
        let mut rng = Rng::new(47);
        let mut tested = 0;
        for _ in 0..1000 {
            let mut s = random_shape(&mut rng);
            // Wider and deeper than the generic random shapes, to cover tiles with
            // tails in both directions.
            let widen = 1 + rng.below(3) as usize;
            s.geom.channels *= widen;
            s.out_channels *= 1 + rng.below(6) as usize;
            if !computable(&s) {
                continue;
            }
            tested += 1;
            let w = rand(&mut rng, s.weight_len());
            let x = rand(&mut rng, s.input_len());
            let mut y = vec![f32::NAN; s.output_len()];
            let mut scratch = vec![f32::NAN; scratch_len(&s)];
            let want = naive_forward(&s, &w, &x);
            let pass = GroupPass::new(&s, x.len(), y.len(), w.len(), scratch.len());
            for isa in Isa::available() {
                forward_with(isa, &pass, &w, &x, &mut y, &mut scratch);
                for (a, b) in y.iter().zip(&want) {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "{isa:?} {s:?}: {a} vs {b}"
                    );
                }
            }
        }
        assert!(tested >= 50, "only {tested} shapes took the implicit path");
    }

    #[test]
    fn weight_gradient_matches_the_column_matrix_path() {
        if Isa::available().is_empty() {
            return;
        }
        let mut rng = Rng::new(48);
        let mut tested = 0;
        for _ in 0..1000 {
            let mut s = random_shape(&mut rng);
            s.geom.channels *= 1 + rng.below(3) as usize;
            // Whole registers of output channels per group, as the kernel requires.
            s.out_channels = s.group * LANES * (1 + rng.below(3) as usize);
            if !computable(&s) {
                continue;
            }
            tested += 1;
            let x = rand(&mut rng, s.input_len());
            let dy = rand(&mut rng, s.output_len());
            let start = rand(&mut rng, s.weight_len());
            let mut expected = start.clone();
            let mut col = vec![0.0; s.geom.im2col_len()];
            crate::kernels::im2col::im2col(&s.geom, &x, &mut col);
            columns::backward_weights_t(&s, &col, &dy, &mut expected, Parallelism::None);
            for isa in Isa::available() {
                let mut dw = start.clone();
                let mut scratch = vec![f32::NAN; scratch_len(&s)];
                let pass = GroupPass::new(&s, x.len(), dy.len(), dw.len(), scratch.len());
                backward_weights_t_with(isa, &pass, &x, &dy, &mut dw, &mut scratch);
                for (a, b) in dw.iter().zip(&expected) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                        "{isa:?} {s:?}: {a} vs {b}"
                    );
                }
            }
        }
        assert!(tested >= 50, "only {tested} shapes took the implicit path");
    }

    #[test]
    fn only_single_threaded_stride_one_real_kernels() {
        let mut rng = Rng::new(5);
        let mut s = random_shape(&mut rng);
        s.geom.stride = [2, 1];
        assert!(!suits(&s) && !suits_weights(&s));
        s.geom.stride = [1, 1];
        s.geom.kernel = [1, 1];
        s.geom.pad = [0, 0];
        (s.geom.out_height, s.geom.out_width) = (s.geom.height, s.geom.width);
        assert!(!suits(&s) && !suits_weights(&s));
    }

    /// A 3×3 stride-1 convolution of a 6×6 image claiming 12 output rows where
    /// its geometry gives 4: the tiles would read 40 values past the padded
    /// image (its buffers are sized for what it claims, so only the geometry
    /// check can catch it).
    fn inconsistent() -> ConvShape {
        ConvShape {
            geom: Geom2d {
                channels: 2,
                height: 6,
                width: 6,
                kernel: [3, 3],
                pad: [0, 0],
                stride: [1, 1],
                dilation: [1, 1],
                out_height: 12,
                out_width: 4,
            },
            out_channels: 16,
            group: 1,
        }
    }

    #[test]
    #[should_panic(expected = "implicit convolution needs stride 1, Caffe's output size")]
    fn forward_refuses_an_inconsistent_geometry() {
        let s = inconsistent();
        let mut rng = Rng::new(3);
        let (w, x) = (
            rand(&mut rng, s.weight_len()),
            rand(&mut rng, s.input_len()),
        );
        let mut y = vec![0.0; s.output_len()];
        let mut scratch = vec![0.0; scratch_len(&s)];
        forward(&s, &w, &x, &mut y, &mut scratch);
    }

    #[test]
    #[should_panic(expected = "implicit convolution needs stride 1, Caffe's output size")]
    fn weight_gradient_refuses_an_inconsistent_geometry() {
        let s = inconsistent();
        let mut rng = Rng::new(4);
        let (x, dy) = (
            rand(&mut rng, s.input_len()),
            rand(&mut rng, s.output_len()),
        );
        let mut dw = vec![0.0; s.weight_len()];
        let mut scratch = vec![0.0; scratch_len(&s)];
        backward_weights_t(&s, &x, &dy, &mut dw, &mut scratch);
    }
}
