//! A plane split into its stride *phases*, the layout that lets strided window
//! kernels (pooling, depthwise convolution) run every window tap as one
//! contiguous loop. Phase `(ry, rx)` holds the padded plane's pixels
//! `(sy·i + ry, sx·j + rx)`, with padding (and the ceil-mode overhang) filled by a
//! value the caller chooses. Tap `(dy, dx)` (its offset inside the window, in
//! padded pixels) of window `(oh, ow)` is then element `(oh + dy / sy,
//! ow + dx / sx)` of phase `(dy % sy, dx % sx)`, so a whole row of windows reads
//! one contiguous run; with output rows `cols` long ("extended" rows, the extra
//! columns computed and dropped) a whole plane of windows does.

use super::im2col::copy_row;

/// The phase split of planes of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phases {
    height: usize,
    width: usize,
    pad: [usize; 2],
    stride: [usize; 2],
    /// Rows and columns of one phase: enough for every tap of every window.
    pub rows: usize,
    pub cols: usize,
}

impl Phases {
    /// The split for `out` windows per axis, each spanning `extent` padded pixels.
    pub fn new(
        [height, width]: [usize; 2],
        pad: [usize; 2],
        stride: [usize; 2],
        out: [usize; 2],
        extent: [usize; 2],
    ) -> Self {
        let dim = |a: usize| ((out[a].max(1) - 1) * stride[a] + extent[a]).div_ceil(stride[a]);
        Phases {
            height,
            width,
            pad,
            stride,
            rows: dim(0),
            cols: dim(1),
        }
    }

    /// Values of all phases of one plane.
    pub fn size(&self) -> usize {
        self.stride[0] * self.stride[1] * self.rows * self.cols
    }

    /// Where the run of tap `(dy, dx)` starts: window (oh, ow)'s pixel is at
    /// `start + oh·cols + ow`.
    #[inline(always)]
    pub fn tap_start(&self, dy: usize, dx: usize) -> usize {
        let [sy, sx] = self.stride;
        let phase = (dy % sy) * sx + dx % sx;
        (phase * self.rows + dy / sy) * self.cols + dx / sx
    }

    /// Splits `plane` into `phases`, padding with `fill`.
    #[inline(always)]
    pub fn split(&self, plane: &[f32], fill: f32, phases: &mut [f32]) {
        let ([sy, sx], [py, px], w) = (self.stride, self.pad, self.width);
        let mut rows = phases.chunks_exact_mut(self.cols);
        for ry in 0..sy {
            let (y_lo, y_hi) = inside(self.rows, sy, py, self.height, ry);
            for rx in 0..sx {
                let (x_lo, x_hi) = inside(self.cols, sx, px, w, rx);
                for i in 0..self.rows {
                    let row = rows.next().expect("phases hold sy·sx·rows rows");
                    if !(y_lo..y_hi).contains(&i) || x_lo == x_hi {
                        row.fill(fill);
                        continue;
                    }
                    let y = i * sy + ry - py;
                    let first = x_lo * sx + rx - px;
                    row[..x_lo].fill(fill);
                    row[x_hi..].fill(fill);
                    strided_copy(&plane[y * w + first..(y + 1) * w], sx, &mut row[x_lo..x_hi]);
                }
            }
        }
    }

    /// The inverse of [`Phases::split`] for the real pixels: writes each pixel of
    /// `plane` from its place in `phases` (padding's values are dropped).
    #[inline(always)]
    pub fn gather(&self, phases: &[f32], plane: &mut [f32]) {
        let ([sy, sx], [py, px], w) = (self.stride, self.pad, self.width);
        for (y, row) in plane.chunks_exact_mut(w).enumerate() {
            let (ry, i) = ((y + py) % sy, (y + py) / sy);
            for rx in 0..sx {
                let (x_lo, x_hi) = inside(self.cols, sx, px, w, rx);
                if x_lo == x_hi {
                    continue;
                }
                let first = x_lo * sx + rx - px;
                let src = &phases[((ry * sx + rx) * self.rows + i) * self.cols..][x_lo..x_hi];
                for (d, &v) in row[first..].iter_mut().step_by(sx).zip(src) {
                    *d = v;
                }
            }
        }
    }
}

/// The positions `[lo, hi)` of `0..out` whose index `o·stride + k − pad` lies
/// in `[0, size)`.
#[inline]
fn inside(out: usize, stride: usize, pad: usize, size: usize, k: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(k).div_ceil(stride).min(out);
    let hi = (size + pad)
        .saturating_sub(k)
        .div_ceil(stride)
        .clamp(lo, out);
    (lo, hi)
}

/// `dst[k] = src[k·stride]` for every `k` (`src` long enough).
#[inline(always)]
fn strided_copy(src: &[f32], stride: usize, dst: &mut [f32]) {
    match stride {
        1 => copy_row(dst, src),
        2 => {
            // Pairs vectorize (a shuffle per vector); a step_by iterator does not.
            let (pairs, _) = src.as_chunks::<2>();
            let n = pairs.len().min(dst.len());
            for (d, p) in dst[..n].iter_mut().zip(&pairs[..n]) {
                *d = p[0];
            }
            for (k, d) in dst.iter_mut().enumerate().skip(n) {
                *d = src[2 * k];
            }
        }
        _ => {
            for (d, s) in dst.iter_mut().zip(src.iter().step_by(stride)) {
                *d = *s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_places_every_pixel_where_tap_start_finds_it_and_gather_inverts() {
        for (size, pad, stride, out, extent) in [
            ([5, 7], [1, 2], [2, 3], [3, 3], [3, 3]),
            ([4, 4], [0, 0], [1, 1], [2, 2], [3, 3]),
            ([6, 5], [2, 1], [2, 2], [4, 3], [3, 2]),
        ] {
            let p = Phases::new(size, pad, stride, out, extent);
            let plane: Vec<f32> = (0..size[0] * size[1]).map(|v| v as f32).collect();
            let mut phases = vec![f32::NAN; p.size()];
            p.split(&plane, -1.0, &mut phases);
            for oh in 0..out[0] {
                for ow in 0..out[1] {
                    for dy in 0..extent[0] {
                        for dx in 0..extent[1] {
                            let (y, x) = (oh * stride[0] + dy, ow * stride[1] + dx);
                            let real = y >= pad[0]
                                && x >= pad[1]
                                && y - pad[0] < size[0]
                                && x - pad[1] < size[1];
                            let want = if real {
                                plane[(y - pad[0]) * size[1] + x - pad[1]]
                            } else {
                                -1.0
                            };
                            assert_eq!(phases[p.tap_start(dy, dx) + oh * p.cols + ow], want);
                        }
                    }
                }
            }
            let mut back = vec![f32::NAN; plane.len()];
            p.gather(&phases, &mut back);
            assert_eq!(back, plane);
        }
    }
}
