//! The input gradient of a stride-1 convolution as a convolution of its own:
//! `Wᵀ` applied to an output gradient equals a stride-1 convolution of the
//! output gradient with the kernel flipped and its in and out channels swapped.
//! That runs as a forward product (K = out_channels·k²), far faster than the
//! col2im product (K = out_channels), and needs no col2im scatter.

use super::shape::ConvShape;
use crate::kernels::im2col::Geom2d;

/// The flipped convolution of `s`, where it is the faster input gradient.
///
/// The flipped convolution computes every input position from a fully padded
/// output gradient: with little padding (LeNet's unpadded 5×5 convs) that is up
/// to 2.25× the products of col2im's GEMM, so it is only taken when the input is
/// at most a quarter larger than the output.
pub fn shape(s: &ConvShape) -> Option<ConvShape> {
    let g = &s.geom;
    let applies = !g.is_pointwise()
        && g.is_dense_stride_one()
        && (0..2).all(|a| g.pad[a] < g.extent(a))
        && 4 * g.height * g.width <= 5 * g.out_height * g.out_width;
    applies.then(|| ConvShape {
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
    })
}

/// Writes the weights of [`shape`]`(s)` from the weights of `s` into `flipped`
/// (both `s.weight_len()` long):
/// `flipped[g·cg + i][o][kh][kw] = w[g·og + o][i][kk_h − 1 − kh][kk_w − 1 − kw]`.
pub fn flip_weights(s: &ConvShape, weights: &[f32], flipped: &mut [f32]) {
    let (og, cg) = (s.out_channels / s.group, s.geom.channels / s.group);
    let kk = s.geom.kernel[0] * s.geom.kernel[1];
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::columns;
    use crate::kernels::conv::testing::{close, rand, random_shape};
    use crate::kernels::gemm::Parallelism;
    use crate::rng::Rng;

    #[test]
    fn flipped_forward_is_the_input_gradient() {
        let mut rng = Rng::new(21);
        let mut flipped_cases = 0;
        for _ in 0..600 {
            let s = random_shape(&mut rng);
            let Some(f) = shape(&s) else { continue };
            flipped_cases += 1;
            let w = rand(&mut rng, s.weight_len());
            let dy = rand(&mut rng, s.output_len());
            let mut col = vec![f32::NAN; columns::col_len(&s)];
            let mut want = vec![f32::NAN; s.input_len()];
            columns::backward_data(&s, &w, &dy, &mut want, &mut col, Parallelism::None);
            let mut wf = vec![f32::NAN; s.weight_len()];
            flip_weights(&s, &w, &mut wf);
            let mut colf = vec![f32::NAN; columns::col_len(&f)];
            let mut dx = vec![f32::NAN; s.input_len()];
            columns::forward(&f, &wf, &dy, &mut dx, &mut colf, Parallelism::None);
            for (a, b) in dx.iter().zip(&want) {
                assert!(close(*a as f64, *b as f64), "{s:?}: {a} vs {b}");
            }
        }
        assert!(
            flipped_cases >= 5,
            "only {flipped_cases} flipped-kernel cases"
        );
    }
}
