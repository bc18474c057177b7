//! Stride-1 convolution without a column matrix (an "implicit GEMM"), for CPUs
//! with AVX-512. With the image zero-padded to `hp × wp`, output position
//! `i = oh·wp + ow` of kernel tap `(c, ki, kj)` reads padded value
//! `c·hp·wp + ki·dh·wp + kj·dw + i`: for every tap, the outputs of consecutive
//! positions read consecutive inputs. So the GEMM `W · im2col(x)` can load its
//! right-hand operand straight from the padded image, 32 positions at a time,
//! instead of writing and re-reading (and the GEMM library re-packing) a column
//! matrix 25 times the image's size. Outputs are computed on rows `wp` long; the
//! `wp − out_width` extra columns of each row are dropped at the end.
//!
//! Each output value is one sequential sum over the taps in Caffe's order
//! (c, ki, kj), with fused multiply-adds; im2col + GEMM rounds differently, within
//! the fixtures' tolerance.

use super::conv::ConvShape;
use super::gemm::Parallelism;
use super::im2col::Geom2d;

/// Output positions per vector register.
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
        let slack = (g.kernel[1] - 1) * g.dilation[1] + LANES;
        Layout {
            hp,
            wp,
            padded_len: channels * hp * wp + slack,
            wide_len,
        }
    }
}

/// Whether [`forward`] computes `s` here: a shape it can compute, at most a
/// quarter more work on the wide rows (cifar10_quick's 8×8 conv3, 12 wide
/// padded, is faster through the column matrix), and the single-threaded
/// per-image call (the batch is split over threads outside).
pub fn applies(s: &ConvShape, par: Parallelism) -> bool {
    let g = &s.geom;
    matches!(par, Parallelism::None)
        && 4 * (g.width + 2 * g.pad[1]) <= 5 * g.out_width
        && computable(s)
}

/// Shapes the kernels handle: stride 1, a real (not 1×1) kernel, Caffe's output
/// size, on a CPU with AVX-512.
fn computable(s: &ConvShape) -> bool {
    let g = &s.geom;
    let ext = |a: usize| g.dilation[a] * (g.kernel[a] - 1) + 1;
    g.stride == [1, 1]
        && !g.is_pointwise()
        && g.out_height + ext(0) == g.height + 2 * g.pad[0] + 1
        && g.out_width + ext(1) == g.width + 2 * g.pad[1] + 1
        && has_avx512()
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Scratch values [`forward`] needs: the padded image and the wide output.
pub fn scratch_len(s: &ConvShape) -> usize {
    let layout = Layout::of(s);
    layout.padded_len + (s.out_channels / s.group) * layout.wide_len
}

/// `output = W · im2col(input)` per group (output overwritten), for shapes
/// [`computable`] here.
pub fn forward(
    s: &ConvShape,
    weights: &[f32],
    input: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
) {
    assert!(has_avx512(), "implicit convolution needs AVX-512");
    let g = &s.geom;
    let layout = Layout::of(s);
    let (cg, og) = (g.channels / s.group, s.out_channels / s.group);
    let k = cg * g.kernel[0] * g.kernel[1];
    let (hw, ohw) = (g.height * g.width, g.col_cols());
    assert!(
        input.len() >= g.channels * hw
            && output.len() >= s.out_channels * ohw
            && weights.len() >= s.out_channels * k
            && scratch.len() >= scratch_len(s),
        "implicit convolution buffers do not fit {s:?}"
    );
    let (padded, wide) = scratch.split_at_mut(layout.padded_len);
    let wide = &mut wide[..og * layout.wide_len];
    let offsets = tap_offsets(g, &layout, cg);
    for grp in 0..s.group {
        pad_channels(
            g,
            &layout,
            &input[grp * cg * hw..(grp + 1) * cg * hw],
            padded,
        );
        let w = &weights[grp * og * k..(grp + 1) * og * k];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F is present (asserted above); every read stays inside
        // `padded` (Layout's slack) and `w`, every write inside `wide`.
        unsafe {
            avx512::gemm(og, k, layout.wide_len, w, padded, &offsets, wide)
        };
        let out = &mut output[grp * og * ohw..(grp + 1) * og * ohw];
        for (dst, src) in out
            .chunks_exact_mut(ohw)
            .zip(wide.chunks_exact(layout.wide_len))
        {
            for (row, wide_row) in dst.chunks_exact_mut(g.out_width).zip(src.chunks(layout.wp)) {
                row.copy_from_slice(&wide_row[..g.out_width]);
            }
        }
    }
}

/// `weight_grad_t += (output_grad · im2col(input)ᵀ)ᵀ` per group, in the transposed
/// layout of [`super::conv::backward_weights_t`] (per group: taps × output
/// channels). Output channels go across the vector lanes (the gradient is
/// transposed to positions × channels first) and each tap's input value is
/// broadcast, so every product lands in its own lane and nothing needs a
/// horizontal sum. For shapes [`computable`] here with [`weight_lanes_fit`]
/// ([`applies_to_weights`] says when it is the faster path).
pub fn backward_weights_t(
    s: &ConvShape,
    input: &[f32],
    output_grad: &[f32],
    weight_grad_t: &mut [f32],
    scratch: &mut [f32],
) {
    assert!(has_avx512(), "implicit convolution needs AVX-512");
    assert!(
        weight_lanes_fit(s),
        "output channels per group must be a multiple of 16"
    );
    let g = &s.geom;
    let layout = Layout::of(s);
    let (cg, og) = (g.channels / s.group, s.out_channels / s.group);
    let k = cg * g.kernel[0] * g.kernel[1];
    let (hw, ohw) = (g.height * g.width, g.col_cols());
    assert!(
        input.len() >= g.channels * hw
            && output_grad.len() >= s.out_channels * ohw
            && weight_grad_t.len() >= s.out_channels * k
            && scratch.len() >= scratch_len(s),
        "implicit convolution buffers do not fit {s:?}"
    );
    let (padded, rest) = scratch.split_at_mut(layout.padded_len);
    let dy_t = &mut rest[..ohw * og];
    let offsets = tap_offsets(g, &layout, cg);
    // Where each output position reads in a tap's run.
    let positions: Vec<usize> = (0..g.out_height)
        .flat_map(|oh| (0..g.out_width).map(move |ow| oh * layout.wp + ow))
        .collect();
    for grp in 0..s.group {
        pad_channels(
            g,
            &layout,
            &input[grp * cg * hw..(grp + 1) * cg * hw],
            padded,
        );
        let dy = &output_grad[grp * og * ohw..(grp + 1) * og * ohw];
        for (m, row) in dy.chunks_exact(ohw).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                dy_t[j * og + m] = v;
            }
        }
        let dw = &mut weight_grad_t[grp * og * k..(grp + 1) * og * k];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F is present (asserted above); reads stay inside
        // `padded` (every position is a valid output's) and `dy_t`, writes
        // inside `dw`; og is a multiple of 16 (asserted above).
        unsafe {
            avx512::weight_gemm(og, dy_t, &positions, padded, &offsets, dw)
        };
    }
}

/// Whether [`backward_weights_t`] computes `s` here: a shape it can compute
/// whose output channels per group fill whole vector registers, in the
/// single-threaded per-image call. It reads only valid positions, so unlike
/// [`forward`] it wastes nothing on narrow images.
pub fn applies_to_weights(s: &ConvShape, par: Parallelism) -> bool {
    matches!(par, Parallelism::None) && weight_lanes_fit(s) && computable(s)
}

fn weight_lanes_fit(s: &ConvShape) -> bool {
    (s.out_channels / s.group).is_multiple_of(LANES)
}

/// Where tap (c, ki, kj) of a group starts in the padded layout, in Caffe's
/// weight order.
fn tap_offsets(g: &Geom2d, layout: &Layout, channels: usize) -> Vec<usize> {
    let plane = layout.hp * layout.wp;
    (0..channels)
        .flat_map(|c| (0..g.kernel[0]).map(move |ki| (c, ki)))
        .flat_map(|(c, ki)| (0..g.kernel[1]).map(move |kj| (c, ki, kj)))
        .map(|(c, ki, kj)| c * plane + ki * g.dilation[0] * layout.wp + kj * g.dilation[1])
        .collect()
}

/// Copies one group's channels into the zero-padded layout.
fn pad_channels(g: &Geom2d, layout: &Layout, x: &[f32], padded: &mut [f32]) {
    padded.fill(0.0);
    let plane = layout.hp * layout.wp;
    for (c, channel) in x.chunks_exact(g.height * g.width).enumerate() {
        for (h, row) in channel.chunks_exact(g.width).enumerate() {
            let start = c * plane + (h + g.pad[0]) * layout.wp + g.pad[1];
            padded[start..start + g.width].copy_from_slice(row);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::LANES;

    /// Output channels per tile: 8 rows × 2 registers = 16 accumulators.
    const ROWS: usize = 8;

    /// `wide[m][i] = Σ_t w[m][t] · padded[offsets[t] + i]` for i < n (a multiple
    /// of LANES), m < rows; `w` is rows × k.
    ///
    /// # Safety
    /// AVX-512F must be available; `padded` must hold `max(offsets) + n` values,
    /// `w` rows·k and `wide` rows·n.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn gemm(
        rows: usize,
        k: usize,
        n: usize,
        w: &[f32],
        padded: &[f32],
        offsets: &[usize],
        wide: &mut [f32],
    ) {
        debug_assert!(n.is_multiple_of(LANES) && w.len() >= rows * k && wide.len() >= rows * n);
        debug_assert!(offsets.iter().all(|&o| o + n <= padded.len()));
        let (w, p, out) = (w.as_ptr(), padded.as_ptr(), wide.as_mut_ptr());
        let mut col = 0;
        while col < n {
            let two = n - col >= 2 * LANES;
            let mut row = 0;
            while row < rows {
                let r = (rows - row).min(ROWS);
                let (wr, pc, oc) = (w.add(row * k), p.add(col), out.add(row * n + col));
                macro_rules! run {
                    ($v:literal) => {
                        match r {
                            1 => tile::<1, $v>(k, wr, pc, offsets, oc, n),
                            2 => tile::<2, $v>(k, wr, pc, offsets, oc, n),
                            3 => tile::<3, $v>(k, wr, pc, offsets, oc, n),
                            4 => tile::<4, $v>(k, wr, pc, offsets, oc, n),
                            5 => tile::<5, $v>(k, wr, pc, offsets, oc, n),
                            6 => tile::<6, $v>(k, wr, pc, offsets, oc, n),
                            7 => tile::<7, $v>(k, wr, pc, offsets, oc, n),
                            _ => tile::<ROWS, $v>(k, wr, pc, offsets, oc, n),
                        }
                    };
                }
                if two {
                    run!(2)
                } else {
                    run!(1)
                }
                row += r;
            }
            col += if two { 2 * LANES } else { LANES };
        }
    }

    /// `dw[t·og + m] += Σ_j dy_t[j·og + m] · padded[offsets[t] + positions[j]]`.
    ///
    /// # Safety
    /// AVX-512F must be available; og must be a multiple of LANES; `padded` must
    /// hold every `offsets[t] + positions[j]`, `dy_t` positions.len()·og values
    /// and `dw` offsets.len()·og.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn weight_gemm(
        og: usize,
        dy_t: &[f32],
        positions: &[usize],
        padded: &[f32],
        offsets: &[usize],
        dw: &mut [f32],
    ) {
        debug_assert!(og.is_multiple_of(LANES) && dy_t.len() >= positions.len() * og);
        debug_assert!(dw.len() >= offsets.len() * og);
        let p = padded.as_ptr();
        for (tile, taps) in offsets.chunks(TAPS).enumerate() {
            // Taps past the given ones read from `p` itself and are dropped.
            let mut starts = [p; TAPS];
            for (start, &offset) in starts.iter_mut().zip(taps) {
                *start = p.add(offset);
            }
            let mut m0 = 0;
            while m0 < og {
                let dy = dy_t.as_ptr().add(m0);
                let out = dw.as_mut_ptr().add(tile * TAPS * og + m0);
                if og - m0 >= 2 * LANES {
                    weight_tile::<2>(dy, og, positions, &starts, out, taps.len());
                    m0 += 2 * LANES;
                } else {
                    weight_tile::<1>(dy, og, positions, &starts, out, taps.len());
                    m0 += LANES;
                }
            }
        }
    }

    /// Taps per weight-gradient tile: 6 taps × 2 registers = 12 accumulators
    /// (with more, the tap pointers and accumulators spill to the stack).
    const TAPS: usize = 8;

    /// Adds the gradient of `live` taps × V·16 output channels into `out` (row
    /// stride `ld`, the output channels per group).
    #[inline(always)]
    unsafe fn weight_tile<const V: usize>(
        dy: *const f32,
        ld: usize,
        positions: &[usize],
        starts: &[*const f32; TAPS],
        out: *mut f32,
        live: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); V]; TAPS];
        for (j, &i) in positions.iter().enumerate() {
            let row = dy.add(j * ld);
            let mut d = [_mm512_setzero_ps(); V];
            for (v, reg) in d.iter_mut().enumerate() {
                *reg = _mm512_loadu_ps(row.add(v * LANES));
            }
            for (acc_t, start) in acc.iter_mut().zip(starts) {
                let a = _mm512_set1_ps(*start.add(i));
                for (reg, dv) in acc_t.iter_mut().zip(d) {
                    *reg = _mm512_fmadd_ps(a, dv, *reg);
                }
            }
        }
        for (t, acc_t) in acc.iter().enumerate().take(live) {
            for (v, reg) in acc_t.iter().enumerate() {
                let dst = out.add(t * ld + v * LANES);
                _mm512_storeu_ps(dst, _mm512_add_ps(_mm512_loadu_ps(dst), *reg));
            }
        }
    }

    /// One R × (V·16) tile: R output channels, V registers of positions.
    #[inline(always)]
    unsafe fn tile<const R: usize, const V: usize>(
        k: usize,
        w: *const f32,
        p: *const f32,
        offsets: &[usize],
        out: *mut f32,
        ld_out: usize,
    ) {
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for (t, &offset) in offsets.iter().enumerate().take(k) {
            let src = p.add(offset);
            let mut b = [_mm512_setzero_ps(); V];
            for (v, reg) in b.iter_mut().enumerate() {
                *reg = _mm512_loadu_ps(src.add(v * LANES));
            }
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let a = _mm512_set1_ps(*w.add(r * k + t));
                for (v, reg) in acc_row.iter_mut().enumerate() {
                    *reg = _mm512_fmadd_ps(a, b[v], *reg);
                }
            }
        }
        for (r, acc_row) in acc.iter().enumerate() {
            for (v, reg) in acc_row.iter().enumerate() {
                _mm512_storeu_ps(out.add(r * ld_out + v * LANES), *reg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv;
    use crate::kernels::conv::tests::{naive_forward, random_shape};
    use crate::rng::Rng;

    #[test]
    fn matches_the_definition() {
        if !has_avx512() {
            eprintln!("no AVX-512: the implicit path is never taken on this CPU");
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
            let rand =
                |rng: &mut Rng, n| (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect::<Vec<f32>>();
            let w = rand(&mut rng, s.weight_len());
            let x = rand(&mut rng, s.input_len());
            let mut y = vec![f32::NAN; s.output_len()];
            let mut scratch = vec![f32::NAN; scratch_len(&s)];
            forward(&s, &w, &x, &mut y, &mut scratch);
            for (a, b) in y.iter().zip(naive_forward(&s, &w, &x)) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
            }
        }
        assert!(tested >= 50, "only {tested} shapes took the implicit path");
    }

    #[test]
    fn weight_gradient_matches_the_column_matrix_path() {
        if !has_avx512() {
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
            let rand =
                |rng: &mut Rng, n| (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect::<Vec<f32>>();
            let x = rand(&mut rng, s.input_len());
            let dy = rand(&mut rng, s.output_len());
            let start = rand(&mut rng, s.weight_len());
            let mut dw = start.clone();
            let mut scratch = vec![f32::NAN; scratch_len(&s)];
            backward_weights_t(&s, &x, &dy, &mut dw, &mut scratch);
            let mut expected = start;
            let mut col = vec![0.0; s.geom.im2col_len()];
            crate::kernels::im2col::im2col(&s.geom, &x, &mut col);
            conv::backward_weights_t(&s, &col, &dy, &mut expected, Parallelism::None);
            for (a, b) in dw.iter().zip(&expected) {
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{s:?}: {a} vs {b}");
            }
        }
        assert!(tested >= 50, "only {tested} shapes took the implicit path");
    }

    #[test]
    fn only_single_threaded_stride_one_real_kernels() {
        let mut rng = Rng::new(5);
        let mut s = random_shape(&mut rng);
        s.geom.stride = [2, 1];
        assert!(!applies(&s, Parallelism::None));
        s.geom.stride = [1, 1];
        s.geom.kernel = [1, 1];
        s.geom.pad = [0, 0];
        (s.geom.out_height, s.geom.out_width) = (s.geom.height, s.geom.width);
        assert!(!applies(&s, Parallelism::None));
    }
}
