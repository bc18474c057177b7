//! im2col / col2im for 2-D convolution, in Caffe's layout: the column matrix has
//! one row per (channel, kernel row, kernel column) and one column per output
//! position (row-major over the output's height and width).

/// The geometry of one image's 2-D convolution, seen from its input side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geom2d {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: [usize; 2],
    pub pad: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

impl Geom2d {
    /// Rows of the column matrix: channels · kernel_h · kernel_w.
    pub fn col_rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// Columns of the column matrix: out_height · out_width.
    pub fn col_cols(&self) -> usize {
        self.out_height * self.out_width
    }

    pub fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Values of the zero-padded copy of the input that [`im2col`] works from
    /// (0 without padding).
    pub fn padded_len(&self) -> usize {
        if self.pad == [0, 0] {
            0
        } else {
            self.channels * (self.height + 2 * self.pad[0]) * (self.width + 2 * self.pad[1])
        }
    }

    /// Scratch [`im2col`] needs: the column matrix and the padded input.
    pub fn im2col_len(&self) -> usize {
        self.col_rows() * self.col_cols() + self.padded_len()
    }

    /// The input span of one kernel window along `axis` (0: height, 1: width).
    pub fn extent(&self, axis: usize) -> usize {
        self.dilation[axis] * (self.kernel[axis] - 1) + 1
    }

    /// A stride-1 window with Caffe's output size on both axes
    /// (`out = in + 2·pad − extent + 1`): every tap of every output position lies
    /// in the padded image, and neighbouring outputs read neighbouring inputs.
    pub fn is_dense_stride_one(&self) -> bool {
        self.stride == [1, 1]
            && self.out_height + self.extent(0) == self.height + 2 * self.pad[0] + 1
            && self.out_width + self.extent(1) == self.width + 2 * self.pad[1] + 1
    }

    /// True when the column matrix equals the input (1×1 kernel, stride 1, no pad).
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && self.pad == [0, 0]
            && self.out_height == self.height
            && self.out_width == self.width
    }

    /// The output positions `o` along `axis` (0: height, 1: width) whose input
    /// index `o·stride + k·dilation − pad` for kernel tap `k` lies inside the
    /// image, as a half-open range, and the (signed) input offset of tap `k`.
    #[inline]
    pub fn valid(&self, axis: usize, k: usize) -> (usize, usize, isize) {
        let (len, out) = if axis == 0 {
            (self.height, self.out_height)
        } else {
            (self.width, self.out_width)
        };
        let offset = (k * self.dilation[axis]) as isize - self.pad[axis] as isize;
        let s = self.stride[axis] as isize;
        let lo = if offset >= 0 {
            0
        } else {
            (-offset + s - 1) / s
        };
        let room = len as isize - offset;
        let hi = if room <= 0 { 0 } else { (room + s - 1) / s };
        let lo = (lo as usize).min(out);
        let hi = (hi as usize).clamp(lo, out);
        (lo, hi, offset)
    }
}

/// Copies a short row (the 7–112 values of a convolution or pooling plane's row)
/// in fixed 16- and 8-value blocks: a `memcpy` call per row cost more than the
/// copy. Shared by the plane kernels of this module and its siblings.
#[inline(always)]
pub(crate) fn copy_row(dst: &mut [f32], src: &[f32]) {
    let src = &src[..dst.len()];
    let (d16, d_rest) = dst.as_chunks_mut::<16>();
    let (s16, s_rest) = src.as_chunks::<16>();
    for (d, s) in d16.iter_mut().zip(s16) {
        *d = *s;
    }
    let (d8, d_rest) = d_rest.as_chunks_mut::<8>();
    let (s8, s_rest) = s_rest.as_chunks::<8>();
    for (d, s) in d8.iter_mut().zip(s8) {
        *d = *s;
    }
    for (d, s) in d_rest.iter_mut().zip(s_rest) {
        *d = *s;
    }
}

crate::vectorized! {
    /// Fills `col` (col_rows × col_cols, followed by [`Geom2d::padded_len`] values
    /// of scratch for the zero-padded image) from one image `x` (channels × height
    /// × width). Padding the image once makes every tap of every output position
    /// land inside it, so the rows are plain copies without bounds or zero fills.
    /// With AVX-512 a 16-value row is one move.
    pub fn im2col(g: &Geom2d, x: &[f32], col: &mut [f32]) = im2col_body;
}

#[inline(always)]
fn im2col_body(g: &Geom2d, x: &[f32], col: &mut [f32]) {
    assert!(x.len() >= g.input_len() && col.len() >= g.im2col_len());
    let ohw = g.col_cols();
    let (col, padded) = col.split_at_mut(g.col_rows() * ohw);
    let (src, ph, pw) = if g.pad == [0, 0] {
        (x, g.height, g.width)
    } else {
        pad_image(g, x, padded);
        (&*padded, g.height + 2 * g.pad[0], g.width + 2 * g.pad[1])
    };
    let (ow_n, sh, sw) = (g.out_width, g.stride[0], g.stride[1]);
    let mut rows = col.chunks_exact_mut(ohw);
    for plane in src.chunks_exact(ph * pw).take(g.channels) {
        for ki in 0..g.kernel[0] {
            for kj in 0..g.kernel[1] {
                let dst = rows.next().expect("col has col_rows rows");
                let first = ki * g.dilation[0] * pw + kj * g.dilation[1];
                for (oh, d) in dst.chunks_exact_mut(ow_n).enumerate() {
                    let start = first + oh * sh * pw;
                    if sw == 1 {
                        copy_row(d, &plane[start..start + ow_n]);
                    } else {
                        for (v, s) in d.iter_mut().zip(plane[start..].iter().step_by(sw)) {
                            *v = *s;
                        }
                    }
                }
            }
        }
    }
}

/// Writes `x` with `g.pad` zeros around every plane into `out` (planes of
/// `(height + 2·pad_h) × (width + 2·pad_w)`; as many as `x` and `out` hold, at
/// most `g.channels`).
#[inline(always)]
pub(crate) fn pad_image(g: &Geom2d, x: &[f32], out: &mut [f32]) {
    let (h, w, [p0, p1]) = (g.height, g.width, g.pad);
    let pw = w + 2 * p1;
    let planes = out.chunks_exact_mut((h + 2 * p0) * pw);
    for (dst, src) in planes.zip(x.chunks_exact(h * w)).take(g.channels) {
        dst[..p0 * pw].fill(0.0);
        dst[(p0 + h) * pw..].fill(0.0);
        for (d, s) in dst[p0 * pw..(p0 + h) * pw]
            .chunks_exact_mut(pw)
            .zip(src.chunks_exact(w))
        {
            d[..p1].fill(0.0);
            d[p1 + w..].fill(0.0);
            copy_row(&mut d[p1..p1 + w], s);
        }
    }
}

/// Writes one image `x` (channels × height × width) as the sum of the column
/// matrix's entries over the positions they were gathered from (the adjoint of
/// [`im2col`]). `x` is overwritten.
pub fn col2im(g: &Geom2d, col: &[f32], x: &mut [f32]) {
    let (h, w) = (g.height, g.width);
    let (ow_n, ohw) = (g.out_width, g.col_cols());
    assert!(x.len() >= g.input_len() && col.len() >= g.col_rows() * ohw);
    x[..g.input_len()].fill(0.0);
    let sw = g.stride[1];
    let mut row = 0;
    for c in 0..g.channels {
        let plane = &mut x[c * h * w..(c + 1) * h * w];
        for ki in 0..g.kernel[0] {
            let (oh_lo, oh_hi, hoff) = g.valid(0, ki);
            for kj in 0..g.kernel[1] {
                let (ow_lo, ow_hi, woff) = g.valid(1, kj);
                let srcrow = &col[row * ohw..(row + 1) * ohw];
                row += 1;
                if ow_lo == ow_hi {
                    continue;
                }
                let first = (ow_lo as isize * sw as isize + woff) as usize;
                for oh in oh_lo..oh_hi {
                    let ih = (oh as isize * g.stride[0] as isize + hoff) as usize;
                    let dst = &mut plane[ih * w..(ih + 1) * w];
                    let s = &srcrow[oh * ow_n + ow_lo..oh * ow_n + ow_hi];
                    if sw == 1 {
                        for (d, v) in dst[first..first + s.len()].iter_mut().zip(s) {
                            *d += *v;
                        }
                    } else {
                        for (d, v) in dst[first..].iter_mut().step_by(sw).zip(s) {
                            *d += *v;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Random geometries, including stride, pad, dilation and pads larger than the kernel.
    pub(crate) fn random_geom(rng: &mut Rng) -> Geom2d {
        loop {
            let r = |rng: &mut Rng, n: u64| rng.below(n) as usize;
            let kernel = [1 + r(rng, 4), 1 + r(rng, 4)];
            let dilation = [1 + r(rng, 2), 1 + r(rng, 2)];
            let stride = [1 + r(rng, 3), 1 + r(rng, 3)];
            let pad = [r(rng, 4), r(rng, 4)];
            let (height, width) = (1 + r(rng, 9), 1 + r(rng, 9));
            let ext = |a: usize| dilation[a] * (kernel[a] - 1) + 1;
            let padded = [height + 2 * pad[0], width + 2 * pad[1]];
            if ext(0) > padded[0] || ext(1) > padded[1] {
                continue;
            }
            return Geom2d {
                channels: 1 + r(rng, 3),
                height,
                width,
                kernel,
                pad,
                stride,
                dilation,
                out_height: (padded[0] - ext(0)) / stride[0] + 1,
                out_width: (padded[1] - ext(1)) / stride[1] + 1,
            };
        }
    }

    /// The definition, element by element.
    pub(crate) fn naive_im2col(g: &Geom2d, x: &[f32]) -> Vec<f32> {
        let mut col = vec![0.0; g.col_rows() * g.col_cols()];
        for c in 0..g.channels {
            for ki in 0..g.kernel[0] {
                for kj in 0..g.kernel[1] {
                    let row = (c * g.kernel[0] + ki) * g.kernel[1] + kj;
                    for oh in 0..g.out_height {
                        for ow in 0..g.out_width {
                            let ih = (oh * g.stride[0] + ki * g.dilation[0]) as isize
                                - g.pad[0] as isize;
                            let iw = (ow * g.stride[1] + kj * g.dilation[1]) as isize
                                - g.pad[1] as isize;
                            let inside = ih >= 0
                                && iw >= 0
                                && (ih as usize) < g.height
                                && (iw as usize) < g.width;
                            col[row * g.col_cols() + oh * g.out_width + ow] = if inside {
                                x[(c * g.height + ih as usize) * g.width + iw as usize]
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
        }
        col
    }

    #[test]
    fn im2col_matches_definition() {
        let mut rng = Rng::new(11);
        for _ in 0..300 {
            let g = random_geom(&mut rng);
            let x: Vec<f32> = (0..g.input_len()).map(|_| rng.uniform(-1.0, 1.0)).collect();
            // Garbage in the buffer must be overwritten.
            let mut col = vec![f32::NAN; g.im2col_len()];
            im2col(&g, &x, &mut col);
            col.truncate(g.col_rows() * g.col_cols());
            assert_eq!(col, naive_im2col(&g, &x), "{g:?}");
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> == <x, col2im(c)> for random x and c.
        let mut rng = Rng::new(12);
        for _ in 0..300 {
            let g = random_geom(&mut rng);
            let x: Vec<f32> = (0..g.input_len()).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let c: Vec<f32> = (0..g.col_rows() * g.col_cols())
                .map(|_| rng.uniform(-1.0, 1.0))
                .collect();
            let col = naive_im2col(&g, &x);
            let lhs: f64 = col.iter().zip(&c).map(|(a, b)| *a as f64 * *b as f64).sum();
            let mut back = vec![f32::NAN; g.input_len()];
            col2im(&g, &c, &mut back);
            let rhs: f64 = x
                .iter()
                .zip(&back)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
                "{g:?}: {lhs} vs {rhs}"
            );
        }
    }
}
