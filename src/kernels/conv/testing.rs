//! Test helpers shared by the convolution kernels' tests: the definition of a
//! convolution, random shapes and values, and float comparisons.

use super::shape::ConvShape;
use crate::kernels::im2col::tests::random_geom;
use crate::rng::Rng;

/// Direct convolution from the definition, in f64.
pub fn naive_forward(s: &ConvShape, w: &[f32], x: &[f32]) -> Vec<f32> {
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
                            if ih < 0 || iw < 0 || ih as usize >= g.height || iw as usize >= g.width
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

pub fn random_shape(rng: &mut Rng) -> ConvShape {
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

pub fn rand(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs()))
}
