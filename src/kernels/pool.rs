//! MAX and AVE pooling of N·C independent planes, with Caffe's window rules:
//! windows start at `o·stride − pad`, MAX sees only real pixels (first maximum
//! wins, strict `>`), AVE sums real pixels and divides by the window clipped to
//! the padded extent (padding counts, the ceil-mode overhang does not).
//!
//! Each plane is first split into its stride phases ([`super::phases`]), with
//! padding filled by a value that cannot matter (−∞ for MAX, 0 for AVE), so a
//! whole plane of windows reads one contiguous run per tap and the loops over
//! it vectorize. Taps go in Caffe's order (row by row, left to right), so MAX
//! and AVE forward give Caffe's results bit for bit.

use std::ops::Range;

use rayon::prelude::*;

use super::im2col::copy_row;
use super::phases::Phases;

/// Below this many window visits a pass runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 16;

/// Marks a MAX window with no candidate (only possible with NaN or −∞
/// inputs); Caffe's −1.
pub const NO_ARGMAX: u32 = u32::MAX;

/// One N·C plane's geometry: input and output sizes plus the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneGeometry {
    pub height: usize,
    pub width: usize,
    pub pooled_h: usize,
    pub pooled_w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
}

impl PlaneGeometry {
    pub fn in_size(&self) -> usize {
        self.height * self.width
    }

    pub fn out_size(&self) -> usize {
        self.pooled_h * self.pooled_w
    }

    /// The stride-phase split of one input plane.
    fn phases(&self) -> Phases {
        Phases::new(
            [self.height, self.width],
            self.pad,
            self.stride,
            [self.pooled_h, self.pooled_w],
            self.kernel,
        )
    }

    /// AVE's divisor of window (oh, ow).
    fn pool_size(&self, oh: usize, ow: usize) -> usize {
        let (_, _, hn) = span(oh, self.stride[0], self.pad[0], self.kernel[0], self.height);
        let (_, _, wn) = span(ow, self.stride[1], self.pad[1], self.kernel[1], self.width);
        (hn * wn).max(1)
    }
}

/// One axis of a window: clipped [start, end) and the length clipped to the
/// padded extent only.
#[inline]
fn span(o: usize, stride: usize, pad: usize, kernel: usize, size: usize) -> (usize, usize, usize) {
    // Window start in padded coordinates: o·stride − pad (may be negative).
    let start = (o * stride) as isize - pad as isize;
    let end_padded = (start + kernel as isize).min((size + pad) as isize);
    let pool_len = (end_padded - start).max(0) as usize;
    let s = start.max(0) as usize;
    let e = (end_padded.min(size as isize)).max(0) as usize;
    (s.min(e), e, pool_len)
}

/// Scratch for one plane: its phases and the outputs with rows `cols` long (the
/// phases' row length, ≥ pooled_w), so that each tap is a single contiguous
/// loop over all windows; the extra columns are computed and dropped.
struct Extended {
    split: Phases,
    phases: Vec<f32>,
    out: Vec<f32>,
    taps: Vec<u32>,
}

impl Extended {
    fn new(g: &PlaneGeometry) -> Self {
        let split = g.phases();
        // A run may reach kernel_w values past the last phase.
        Extended {
            split,
            phases: vec![0.0; split.size() + g.kernel[1]],
            out: vec![0.0; g.pooled_h * split.cols],
            taps: vec![0; g.pooled_h * split.cols],
        }
    }
}

/// AVE's divisor of every window, row-major (Caffe divides; no reciprocals).
fn pool_sizes(g: &PlaneGeometry) -> Vec<f32> {
    (0..g.out_size())
        .map(|k| g.pool_size(k / g.pooled_w, k % g.pooled_w) as f32)
        .collect()
}

#[inline(always)]
fn max_forward_body(g: &PlaneGeometry, src: &[f32], dst: &mut [f32], mask: &mut [u32]) {
    let (i, o) = (g.in_size(), g.out_size());
    let mut x = Extended::new(g);
    let qw = x.split.cols;
    let run = g.pooled_h * qw;
    // Pixel index of tap t of window (oh, ow): oh·sy·width + ow·sx + tap_offsets[t].
    let tap_offsets: Vec<isize> = (0..g.kernel[0] * g.kernel[1])
        .map(|t| {
            let (ky, kx) = (t / g.kernel[1], t % g.kernel[1]);
            (ky as isize - g.pad[0] as isize) * g.width as isize + kx as isize - g.pad[1] as isize
        })
        .collect();
    for ((plane, d), m) in src
        .chunks_exact(i)
        .zip(dst.chunks_exact_mut(o))
        .zip(mask.chunks_exact_mut(o))
    {
        x.split.split(plane, f32::NEG_INFINITY, &mut x.phases);
        x.out.fill(f32::MIN);
        x.taps.fill(NO_ARGMAX);
        for ky in 0..g.kernel[0] {
            for kx in 0..g.kernel[1] {
                let tap = (ky * g.kernel[1] + kx) as u32;
                let start = x.split.tap_start(ky, kx);
                let values = &x.phases[start..start + run];
                for ((best, t), &v) in x.out.iter_mut().zip(x.taps.iter_mut()).zip(values) {
                    let wins = v > *best;
                    *best = if wins { v } else { *best };
                    *t = if wins { tap } else { *t };
                }
            }
        }
        // Keep the real columns; turn each winning tap into its pixel's index.
        for (oh, (d_row, m_row)) in d
            .chunks_exact_mut(g.pooled_w)
            .zip(m.chunks_exact_mut(g.pooled_w))
            .enumerate()
        {
            let row = &x.out[oh * qw..oh * qw + g.pooled_w];
            let taps = &x.taps[oh * qw..oh * qw + g.pooled_w];
            copy_row(d_row, row);
            let row_start = (oh * g.stride[0] * g.width) as isize;
            for (ow, (mv, &t)) in m_row.iter_mut().zip(taps).enumerate() {
                *mv = match tap_offsets.get(t as usize) {
                    Some(off) => (row_start + (ow * g.stride[1]) as isize + off) as u32,
                    None => NO_ARGMAX,
                };
            }
        }
    }
}

crate::vectorized! {
    /// MAX of consecutive planes: `dst` gets the maxima, `mask` the argmax
    /// within each plane (`h·width + w`, or [`NO_ARGMAX`]).
    fn max_forward_planes(g: &PlaneGeometry, src: &[f32], dst: &mut [f32], mask: &mut [u32]) = max_forward_body;
}

#[inline(always)]
fn ave_forward_body(g: &PlaneGeometry, src: &[f32], dst: &mut [f32], sizes: &[f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    let mut x = Extended::new(g);
    let qw = x.split.cols;
    let run = g.pooled_h * qw;
    for (plane, d) in src.chunks_exact(i).zip(dst.chunks_exact_mut(o)) {
        x.split.split(plane, 0.0, &mut x.phases);
        x.out.fill(0.0);
        for ky in 0..g.kernel[0] {
            for kx in 0..g.kernel[1] {
                let start = x.split.tap_start(ky, kx);
                for (sum, &v) in x.out.iter_mut().zip(&x.phases[start..start + run]) {
                    *sum += v;
                }
            }
        }
        for ((d_row, row), s_row) in d
            .chunks_exact_mut(g.pooled_w)
            .zip(x.out.chunks_exact(qw))
            .zip(sizes.chunks_exact(g.pooled_w))
        {
            for ((dv, &sum), &size) in d_row.iter_mut().zip(row).zip(s_row) {
                *dv = sum / size;
            }
        }
    }
}

crate::vectorized! {
    /// AVE of consecutive planes (`sizes`: [`pool_sizes`]).
    fn ave_forward_planes(g: &PlaneGeometry, src: &[f32], dst: &mut [f32], sizes: &[f32]) = ave_forward_body;
}

#[inline(always)]
fn ave_backward_body(g: &PlaneGeometry, top_diff: &[f32], dst: &mut [f32], sizes: &[f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    let mut x = Extended::new(g);
    let qw = x.split.cols;
    let run = g.pooled_h * qw;
    // The extra columns of the shares stay 0: their runs overlap real pixels.
    x.out.fill(0.0);
    for (t, d) in top_diff.chunks_exact(o).zip(dst.chunks_exact_mut(i)) {
        for ((s_row, t_row), z_row) in x
            .out
            .chunks_exact_mut(qw)
            .zip(t.chunks_exact(g.pooled_w))
            .zip(sizes.chunks_exact(g.pooled_w))
        {
            for ((sv, &tv), &size) in s_row.iter_mut().zip(t_row).zip(z_row) {
                *sv = tv / size;
            }
        }
        x.phases.fill(0.0);
        for ky in 0..g.kernel[0] {
            for kx in 0..g.kernel[1] {
                let start = x.split.tap_start(ky, kx);
                for (gv, &sv) in x.phases[start..start + run].iter_mut().zip(&x.out) {
                    *gv += sv;
                }
            }
        }
        // Gather the real pixels back from the phases; padding's share drops.
        x.split.gather(&x.phases, d);
    }
}

crate::vectorized! {
    /// The gradient of AVE pooling of consecutive planes: overwrites `dst`.
    fn ave_backward_planes(g: &PlaneGeometry, top_diff: &[f32], dst: &mut [f32], sizes: &[f32]) = ave_backward_body;
}

/// Routes each output gradient to its argmax; `dst` (consecutive planes'
/// diffs) is overwritten.
fn max_backward_planes(g: &PlaneGeometry, top_diff: &[f32], mask: &[u32], dst: &mut [f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    for ((d, t), m) in dst
        .chunks_exact_mut(i)
        .zip(top_diff.chunks_exact(o))
        .zip(mask.chunks_exact(o))
    {
        d.fill(0.0);
        for (&tv, &at) in t.iter().zip(m) {
            if let Some(v) = d.get_mut(at as usize) {
                *v += tv;
            }
        }
    }
}

/// Planes per parallel task (a few tasks per thread), or all of them when the
/// pass is too small to share.
fn planes_per_task(g: &PlaneGeometry, planes: usize) -> usize {
    let work = planes * g.out_size() * g.kernel[0] * g.kernel[1];
    if work < PARALLEL_WORK {
        planes.max(1)
    } else {
        planes.div_ceil(4 * rayon::current_num_threads()).max(1)
    }
}

/// Runs `f(planes, out)` over consecutive ranges of the `planes` planes, with
/// `out` (`out_len` values per plane) split the same way, in parallel.
fn for_plane_ranges<T, F>(g: &PlaneGeometry, planes: usize, out: &mut [T], out_len: usize, f: F)
where
    T: Send,
    F: Fn(Range<usize>, &mut [T]) + Sync,
{
    if planes == 0 || out_len == 0 {
        return;
    }
    let per = planes_per_task(g, planes);
    out[..planes * out_len]
        .par_chunks_mut(per * out_len)
        .enumerate()
        .for_each(|(t, chunk)| f(t * per..(t * per + chunk.len() / out_len), chunk));
}

/// MAX pooling of `src` (whole planes) into `dst` and the argmax `mask`.
pub fn max_forward(g: &PlaneGeometry, src: &[f32], dst: &mut [f32], mask: &mut [u32]) {
    let (i, o) = (g.in_size(), g.out_size());
    if i == 0 || o == 0 {
        return;
    }
    let planes = dst.len() / o;
    // Split dst and mask alike: one task per range of planes.
    let per = planes_per_task(g, planes);
    dst[..planes * o]
        .par_chunks_mut(per * o)
        .zip(mask[..planes * o].par_chunks_mut(per * o))
        .enumerate()
        .for_each(|(t, (d, m))| {
            let first = t * per;
            let n = d.len() / o;
            max_forward_planes(g, &src[first * i..(first + n) * i], d, m)
        });
}

/// The gradient of [`max_forward`]: overwrites `dst` (bottom diffs).
pub fn max_backward(g: &PlaneGeometry, top_diff: &[f32], mask: &[u32], dst: &mut [f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    if i == 0 || o == 0 {
        return;
    }
    for_plane_ranges(g, top_diff.len() / o, dst, i, |r, d| {
        max_backward_planes(
            g,
            &top_diff[r.start * o..r.end * o],
            &mask[r.start * o..r.end * o],
            d,
        )
    });
}

/// AVE pooling of `src` (whole planes) into `dst`.
pub fn ave_forward(g: &PlaneGeometry, src: &[f32], dst: &mut [f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    if i == 0 || o == 0 {
        return;
    }
    let sizes = pool_sizes(g);
    for_plane_ranges(g, dst.len() / o, dst, o, |r, d| {
        ave_forward_planes(g, &src[r.start * i..r.end * i], d, &sizes)
    });
}

/// The gradient of [`ave_forward`]: overwrites `dst` (bottom diffs).
pub fn ave_backward(g: &PlaneGeometry, top_diff: &[f32], dst: &mut [f32]) {
    let (i, o) = (g.in_size(), g.out_size());
    if i == 0 || o == 0 {
        return;
    }
    let sizes = pool_sizes(g);
    for_plane_ranges(g, top_diff.len() / o, dst, i, |r, d| {
        ave_backward_planes(g, &top_diff[r.start * o..r.end * o], d, &sizes)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Random geometries with Caffe's output sizes (ceil mode, pad clip).
    fn random_geometry(rng: &mut Rng) -> PlaneGeometry {
        let r = |rng: &mut Rng, n: u64| rng.below(n) as usize;
        loop {
            let kernel = [1 + r(rng, 4), 1 + r(rng, 4)];
            let stride = [1 + r(rng, 3), 1 + r(rng, 3)];
            let pad = [r(rng, kernel[0] as u64), r(rng, kernel[1] as u64)];
            let (height, width) = (1 + r(rng, 9), 1 + r(rng, 9));
            let pooled = |size: usize, a: usize| {
                let padded = size + 2 * pad[a];
                if padded < kernel[a] {
                    return None;
                }
                let mut p = (padded - kernel[a]).div_ceil(stride[a]) + 1;
                if pad[a] > 0 && (p - 1) * stride[a] >= size + pad[a] {
                    p -= 1;
                }
                Some(p)
            };
            if let (Some(pooled_h), Some(pooled_w)) = (pooled(height, 0), pooled(width, 1)) {
                return PlaneGeometry {
                    height,
                    width,
                    pooled_h,
                    pooled_w,
                    kernel,
                    stride,
                    pad,
                };
            }
        }
    }

    /// Caffe's loops, window by window: MAX values, argmax, AVE values.
    fn naive(g: &PlaneGeometry, img: &[f32]) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
        let (mut max, mut arg, mut ave) = (vec![], vec![], vec![]);
        for oh in 0..g.pooled_h {
            for ow in 0..g.pooled_w {
                let (hs, he, _) = span(oh, g.stride[0], g.pad[0], g.kernel[0], g.height);
                let (ws, we, _) = span(ow, g.stride[1], g.pad[1], g.kernel[1], g.width);
                let (mut best, mut at, mut sum) = (f32::MIN, NO_ARGMAX, 0.0f32);
                for y in hs..he {
                    for x in ws..we {
                        let v = img[y * g.width + x];
                        if v > best {
                            best = v;
                            at = (y * g.width + x) as u32;
                        }
                        sum += v;
                    }
                }
                max.push(best);
                arg.push(at);
                ave.push(sum / g.pool_size(oh, ow) as f32);
            }
        }
        (max, arg, ave)
    }

    /// Values from a small set, so that ties are common.
    fn image(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| (rng.below(7) as f32 - 3.0) * 0.5).collect()
    }

    #[test]
    fn forward_matches_caffes_loops_exactly() {
        let mut rng = Rng::new(31);
        for _ in 0..400 {
            let g = random_geometry(&mut rng);
            let planes = 1 + rng.below(3) as usize;
            let x = image(&mut rng, planes * g.in_size());
            let (mut max, mut arg, mut ave) = (vec![], vec![], vec![]);
            for p in x.chunks(g.in_size()) {
                let (m, a, v) = naive(&g, p);
                max.extend(m);
                arg.extend(a);
                ave.extend(v);
            }
            let mut got = vec![f32::NAN; planes * g.out_size()];
            let mut mask = vec![7; got.len()];
            max_forward(&g, &x, &mut got, &mut mask);
            assert_eq!((got.clone(), mask), (max, arg), "{g:?}");
            ave_forward(&g, &x, &mut got);
            assert_eq!(got, ave, "{g:?}");
        }
    }

    #[test]
    fn backward_is_the_adjoint_of_forward() {
        // AVE is linear: <ave(x), t> = <x, ave_backward(t)>; MAX routes each
        // gradient to its argmax.
        let mut rng = Rng::new(32);
        for _ in 0..400 {
            let g = random_geometry(&mut rng);
            let planes = 1 + rng.below(3) as usize;
            let x: Vec<f32> = (0..planes * g.in_size())
                .map(|_| rng.uniform(-1.0, 1.0))
                .collect();
            let t: Vec<f32> = (0..planes * g.out_size())
                .map(|_| rng.uniform(-1.0, 1.0))
                .collect();
            let mut y = vec![0.0; t.len()];
            ave_forward(&g, &x, &mut y);
            let mut dx = vec![f32::NAN; x.len()];
            ave_backward(&g, &t, &mut dx);
            let lhs: f64 = y.iter().zip(&t).map(|(a, b)| *a as f64 * *b as f64).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| *a as f64 * *b as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
                "{g:?}: {lhs} vs {rhs}"
            );

            let mut mask = vec![0; t.len()];
            max_forward(&g, &x, &mut y, &mut mask);
            max_backward(&g, &t, &mask, &mut dx);
            let mut want = vec![0.0f32; x.len()];
            for (k, (&tv, &at)) in t.iter().zip(&mask).enumerate() {
                if at != NO_ARGMAX {
                    want[k / g.out_size() * g.in_size() + at as usize] += tv;
                }
            }
            assert_eq!(dx, want, "{g:?}");
        }
    }

    #[test]
    fn large_passes_split_over_threads_give_the_same_result() {
        let g = PlaneGeometry {
            height: 32,
            width: 32,
            pooled_h: 16,
            pooled_w: 16,
            kernel: [3, 3],
            stride: [2, 2],
            pad: [0, 0],
        };
        let mut rng = Rng::new(33);
        let planes = 300;
        let x = image(&mut rng, planes * g.in_size());
        let mut whole = vec![0.0; planes * g.out_size()];
        let mut mask = vec![0; whole.len()];
        max_forward(&g, &x, &mut whole, &mut mask);
        for (p, chunk) in x.chunks(g.in_size()).enumerate() {
            let (m, a, _) = naive(&g, chunk);
            assert_eq!(&whole[p * g.out_size()..(p + 1) * g.out_size()], &m[..]);
            assert_eq!(&mask[p * g.out_size()..(p + 1) * g.out_size()], &a[..]);
        }
    }
}
