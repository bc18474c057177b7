//! Depthwise convolution (group = input channels = output channels) computed
//! directly: one small kernel per channel, no im2col and no per-channel GEMMs.
//! Same shapes and conventions as [`ConvShape`].

use super::shape::ConvShape;
use crate::kernels::im2col::{copy_row, Geom2d};
use crate::kernels::phases::Phases;

/// Whether `s` is depthwise (each output channel sees exactly its own input channel).
pub fn applies(s: &ConvShape) -> bool {
    s.group == s.geom.channels && s.group == s.out_channels
}

fn check(s: &ConvShape, input: usize, output: usize, weights: usize) {
    assert!(
        applies(s)
            && input >= s.input_len()
            && output >= s.output_len()
            && weights >= s.weight_len(),
        "depthwise buffers do not fit {s:?}"
    );
}

/// Calls `f(oh, ih, ow_lo, ow_hi, first_iw)` for every output row of tap (ki, kj)
/// that reads inside the image; the columns ow_lo..ow_hi read input columns
/// first_iw, first_iw + stride_w, ….
#[inline]
fn for_tap(g: &Geom2d, ki: usize, kj: usize, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
    let (oh_lo, oh_hi, hoff) = g.valid(0, ki);
    let (ow_lo, ow_hi, woff) = g.valid(1, kj);
    if ow_lo == ow_hi {
        return;
    }
    let first = (ow_lo as isize * g.stride[1] as isize + woff) as usize;
    for oh in oh_lo..oh_hi {
        let ih = (oh as isize * g.stride[0] as isize + hoff) as usize;
        f(oh, ih, ow_lo, ow_hi, first);
    }
}

/// Where [`forward`] keeps one channel: its zero-padded input split into stride
/// phases ([`Phases`]; tap (ki, kj) starts at `tap_start(ki·dh, kj·dw)`), with
/// slack for the last tap's overrun, then the output on rows `cols` long.
struct PlaneScratch {
    split: Phases,
    input_len: usize,
    extended_len: usize,
}

impl PlaneScratch {
    fn of(g: &Geom2d) -> Self {
        let split = Phases::new(
            [g.height, g.width],
            g.pad,
            g.stride,
            [g.out_height, g.out_width],
            [g.extent(0), g.extent(1)],
        );
        PlaneScratch {
            split,
            input_len: split.size() + (g.extent(1) - 1) / g.stride[1],
            extended_len: g.out_height * split.cols,
        }
    }
}

/// Scratch values [`forward`] needs.
pub fn scratch_len(s: &ConvShape) -> usize {
    let layout = PlaneScratch::of(&s.geom);
    layout.input_len + layout.extended_len
}

/// `output[c] = w[c] ⋆ input[c]` for every channel (output overwritten);
/// `scratch` holds at least [`scratch_len`] values.
pub fn forward(
    s: &ConvShape,
    weights: &[f32],
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
) {
    check(s, input.len(), output.len(), weights.len());
    assert!(
        scratch.len() >= scratch_len(s),
        "depthwise scratch does not fit {s:?}"
    );
    let g = &s.geom;
    let (hw, ohw, kk) = (g.height * g.width, g.col_cols(), g.kernel[0] * g.kernel[1]);
    let layout = PlaneScratch::of(g);
    // Where each tap's run starts, the same for every channel.
    let starts: Vec<usize> = (0..g.kernel[0])
        .flat_map(|ki| (0..g.kernel[1]).map(move |kj| (ki, kj)))
        .map(|(ki, kj)| {
            layout
                .split
                .tap_start(ki * g.dilation[0], kj * g.dilation[1])
        })
        .collect();
    for c in 0..g.channels {
        forward_plane(
            g,
            &layout,
            &starts,
            &weights[c * kk..(c + 1) * kk],
            &input[c * hw..(c + 1) * hw],
            &mut output[c * ohw..(c + 1) * ohw],
            scratch,
        );
    }
}

crate::vectorized! {
    /// One channel of [`forward`]: the plane is copied once into its
    /// [`PlaneScratch`], then every tap is one multiply-add over a contiguous run,
    /// in blocks that stay in L1. Taps are added in Caffe's order (ki, kj), so
    /// results equal the im2col path's bit for bit.
    fn forward_plane(g: &Geom2d, layout: &PlaneScratch, starts: &[usize], w: &[f32], x: &[f32], y: &mut [f32], scratch: &mut [f32]) = forward_plane_body;
}

#[inline(always)]
fn forward_plane_body(
    g: &Geom2d,
    layout: &PlaneScratch,
    starts: &[usize],
    w: &[f32],
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    /// Output values per block: 4 KiB, so a block and its taps' reads stay in L1.
    const BLOCK: usize = 1024;
    let (buf, rest) = scratch.split_at_mut(layout.input_len);
    let extended = &mut rest[..layout.extended_len];
    let split = layout.split;
    let (phases, slack) = buf.split_at_mut(split.size());
    split.split(x, 0.0, phases);
    // Only dropped wide columns read the slack; keep it finite.
    slack.fill(0.0);
    for (b, acc) in extended.chunks_mut(BLOCK).enumerate() {
        let start = b * BLOCK;
        acc.fill(0.0);
        for (&tap, &wv) in starts.iter().zip(w) {
            let src = &buf[tap + start..tap + start + acc.len()];
            for (d, v) in acc.iter_mut().zip(src) {
                *d += wv * *v;
            }
        }
    }
    for (out, row) in y
        .chunks_exact_mut(g.out_width)
        .zip(extended.chunks(split.cols))
    {
        copy_row(out, row);
    }
}

/// `input_grad[c] = adjoint of the forward pass applied to output_grad[c]`
/// (input_grad overwritten).
pub fn backward_data(s: &ConvShape, weights: &[f32], output_grad: &[f32], input_grad: &mut [f32]) {
    check(s, input_grad.len(), output_grad.len(), weights.len());
    let g = &s.geom;
    let (hw, ohw, kk) = (g.height * g.width, g.col_cols(), g.kernel[0] * g.kernel[1]);
    let (w_n, ow_n, sw) = (g.width, g.out_width, g.stride[1]);
    for c in 0..g.channels {
        let dx = &mut input_grad[c * hw..(c + 1) * hw];
        let dy = &output_grad[c * ohw..(c + 1) * ohw];
        dx.fill(0.0);
        for ki in 0..g.kernel[0] {
            for kj in 0..g.kernel[1] {
                let wv = weights[c * kk + ki * g.kernel[1] + kj];
                for_tap(g, ki, kj, |oh, ih, lo, hi, first| {
                    let src = &dy[oh * ow_n + lo..oh * ow_n + hi];
                    let dst = &mut dx[ih * w_n + first..(ih + 1) * w_n];
                    if sw == 1 {
                        for (d, v) in dst.iter_mut().zip(src) {
                            *d += wv * *v;
                        }
                    } else {
                        for (d, v) in dst.iter_mut().step_by(sw).zip(src) {
                            *d += wv * *v;
                        }
                    }
                });
            }
        }
    }
}

/// `weight_grad[c] += Σ output_grad[c] · input[c]` over every position of each tap.
pub fn backward_weights(
    s: &ConvShape,
    input: &[f32],
    output_grad: &[f32],
    weight_grad: &mut [f32],
) {
    check(s, input.len(), output_grad.len(), weight_grad.len());
    let g = &s.geom;
    let (hw, ohw, kk) = (g.height * g.width, g.col_cols(), g.kernel[0] * g.kernel[1]);
    let (w_n, ow_n, sw) = (g.width, g.out_width, g.stride[1]);
    for c in 0..g.channels {
        let x = &input[c * hw..(c + 1) * hw];
        let dy = &output_grad[c * ohw..(c + 1) * ohw];
        for ki in 0..g.kernel[0] {
            for kj in 0..g.kernel[1] {
                let mut acc = 0.0f32;
                for_tap(g, ki, kj, |oh, ih, lo, hi, first| {
                    let d = &dy[oh * ow_n + lo..oh * ow_n + hi];
                    let src = &x[ih * w_n + first..(ih + 1) * w_n];
                    if sw == 1 {
                        acc += d.iter().zip(src).map(|(a, b)| a * b).sum::<f32>();
                    } else {
                        acc += d
                            .iter()
                            .zip(src.iter().step_by(sw))
                            .map(|(a, b)| a * b)
                            .sum::<f32>();
                    }
                });
                weight_grad[c * kk + ki * g.kernel[1] + kj] += acc;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::columns;
    use crate::kernels::conv::testing::{naive_forward, rand, random_shape};
    use crate::kernels::gemm::Parallelism;
    use crate::rng::Rng;

    #[test]
    fn matches_the_definition_and_the_gemm_path() {
        let mut rng = Rng::new(31);
        for _ in 0..200 {
            let mut s = random_shape(&mut rng);
            let c = 1 + rng.below(4) as usize;
            s.geom.channels = c;
            s.out_channels = c;
            s.group = c;
            let w = rand(&mut rng, s.weight_len());
            let x = rand(&mut rng, s.input_len());
            let dy = rand(&mut rng, s.output_len());

            let mut y = vec![f32::NAN; s.output_len()];
            let mut scratch = vec![f32::NAN; scratch_len(&s)];
            forward(&s, &w, &x, &mut y, &mut scratch);
            for (a, b) in y.iter().zip(naive_forward(&s, &w, &x)) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
            }

            let mut col = vec![0.0; columns::col_len(&s)];
            let mut dx = vec![f32::NAN; s.input_len()];
            let mut dx_ref = vec![0.0; s.input_len()];
            backward_data(&s, &w, &dy, &mut dx);
            columns::backward_data(&s, &w, &dy, &mut dx_ref, &mut col, Parallelism::None);
            for (a, b) in dx.iter().zip(&dx_ref) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
            }

            let mut dw = vec![0.5; s.weight_len()];
            let mut dw_ref = vec![0.5; s.weight_len()];
            backward_weights(&s, &x, &dy, &mut dw);
            columns::backward_weights(&s, &x, &dy, &mut dw_ref, &mut col, Parallelism::None);
            for (a, b) in dw.iter().zip(&dw_ref) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
            }
        }
    }
}
