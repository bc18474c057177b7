//! The vector tiles of the implicit convolution, written once over a small
//! vector trait and compiled for AVX-512 (16 lanes, 32 registers) and AVX2 with
//! FMA (8 lanes, 16 registers); the tile sizes fit each register file.

use std::arch::x86_64::*;

use super::Isa;

/// One vector register of f32 lanes and the few operations the tiles use.
///
/// # Safety
/// Every method may only run on a CPU with the register's instruction set;
/// `load` and `store` need `LANES` valid values at `p`.
trait Vector: Copy {
    const LANES: usize;
    /// Output channels per forward tile (× 2 registers of positions).
    const FORWARD_ROWS: usize;
    /// Taps per weight-gradient tile (× 2 registers of output channels).
    const WEIGHT_TAPS: usize;
    unsafe fn zero() -> Self;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    unsafe fn splat(v: f32) -> Self;
    /// self · b + c, fused.
    unsafe fn mul_add(self, b: Self, c: Self) -> Self;
    unsafe fn add(self, b: Self) -> Self;
}

/// Declares a [`Vector`] over one register type from its intrinsics.
macro_rules! vector {
    ($name:ident($reg:ty), lanes $lanes:literal, forward_rows $rows:literal, weight_taps $taps:literal,
     $zero:ident, $load:ident, $store:ident, $splat:ident, $fma:ident, $add:ident) => {
        #[derive(Clone, Copy)]
        struct $name($reg);

        impl Vector for $name {
            const LANES: usize = $lanes;
            const FORWARD_ROWS: usize = $rows;
            const WEIGHT_TAPS: usize = $taps;
            #[inline(always)]
            unsafe fn zero() -> Self {
                // SAFETY: the trait's contract, passed on to the caller.
                unsafe { $name($zero()) }
            }
            #[inline(always)]
            unsafe fn load(p: *const f32) -> Self {
                // SAFETY: the trait's contract, passed on to the caller.
                unsafe { $name($load(p)) }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut f32) {
                // SAFETY: the trait's contract, passed on to the caller.
                unsafe { $store(p, self.0) }
            }
            #[inline(always)]
            unsafe fn splat(v: f32) -> Self {
                // SAFETY: the trait's contract, passed on to the caller.
                unsafe { $name($splat(v)) }
            }
            #[inline(always)]
            unsafe fn mul_add(self, b: Self, c: Self) -> Self {
                // SAFETY: the trait's contract, passed on to the caller.
                unsafe { $name($fma(self.0, b.0, c.0)) }
            }
            #[inline(always)]
            unsafe fn add(self, b: Self) -> Self {
                // SAFETY: the trait's contract, passed on to the caller.
                unsafe { $name($add(self.0, b.0)) }
            }
        }
    };
}

// AVX-512: 8 × 2 = 16 accumulators of 32 registers in both tiles (with more
// weight taps, the tap pointers spill).
vector!(V512(__m512), lanes 16, forward_rows 8, weight_taps 8,
    _mm512_setzero_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps);
// AVX2: 6 × 2 = 12 accumulators of 16 registers.
vector!(V256(__m256), lanes 8, forward_rows 6, weight_taps 6,
    _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps);

/// `wide[m][i] = Σ_t w[m][t] · padded[offsets[t] + i]` for i < n, m < rows; `w`
/// is rows × k with k = offsets.len().
///
/// # Safety
/// `isa` must be available; n must be a multiple of 16; `padded` must hold
/// `max(offsets) + n` values, `w` rows·k and `wide` rows·n.
pub unsafe fn gemm(
    isa: Isa,
    rows: usize,
    n: usize,
    w: &[f32],
    padded: &[f32],
    offsets: &[usize],
    wide: &mut [f32],
) {
    // SAFETY: the caller upholds this function's contract, which covers the dispatch below.
    unsafe {
        debug_assert!(
            n.is_multiple_of(16) && w.len() >= rows * offsets.len() && wide.len() >= rows * n
        );
        debug_assert!(offsets.iter().all(|&o| o + n <= padded.len()));
        match isa {
            Isa::Avx512 => gemm_avx512(rows, n, w, padded, offsets, wide),
            Isa::Avx2 => gemm_avx2(rows, n, w, padded, offsets, wide),
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn gemm_avx512(
    rows: usize,
    n: usize,
    w: &[f32],
    padded: &[f32],
    offsets: &[usize],
    wide: &mut [f32],
) {
    // SAFETY: AVX-512F is enabled here; the bounds are the caller's (see `gemm`).
    unsafe { gemm_body::<V512>(rows, n, w, padded, offsets, wide) }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_avx2(
    rows: usize,
    n: usize,
    w: &[f32],
    padded: &[f32],
    offsets: &[usize],
    wide: &mut [f32],
) {
    // SAFETY: AVX2 and FMA are enabled here; the bounds are the caller's (see `gemm`).
    unsafe { gemm_body::<V256>(rows, n, w, padded, offsets, wide) }
}

#[inline(always)]
unsafe fn gemm_body<S: Vector>(
    rows: usize,
    n: usize,
    w: &[f32],
    padded: &[f32],
    offsets: &[usize],
    wide: &mut [f32],
) {
    // SAFETY: every tile reads `w` rows·k, `padded` below max(offsets) + n and writes `wide` rows·n, as `gemm` requires of its caller.
    unsafe {
        let k = offsets.len();
        let (w, p, out) = (w.as_ptr(), padded.as_ptr(), wide.as_mut_ptr());
        let mut col = 0;
        while col < n {
            let two = n - col >= 2 * S::LANES;
            let mut row = 0;
            while row < rows {
                let r = (rows - row).min(S::FORWARD_ROWS);
                let (wr, pc, oc) = (w.add(row * k), p.add(col), out.add(row * n + col));
                macro_rules! run {
                    ($v:literal) => {
                        match r {
                            1 => tile::<S, 1, $v>(wr, pc, offsets, oc, n),
                            2 => tile::<S, 2, $v>(wr, pc, offsets, oc, n),
                            3 => tile::<S, 3, $v>(wr, pc, offsets, oc, n),
                            4 => tile::<S, 4, $v>(wr, pc, offsets, oc, n),
                            5 => tile::<S, 5, $v>(wr, pc, offsets, oc, n),
                            6 => tile::<S, 6, $v>(wr, pc, offsets, oc, n),
                            7 => tile::<S, 7, $v>(wr, pc, offsets, oc, n),
                            _ => tile::<S, 8, $v>(wr, pc, offsets, oc, n),
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
            col += if two { 2 * S::LANES } else { S::LANES };
        }
    }
}

/// One R × V-register tile: R output channels, V registers of positions.
#[inline(always)]
unsafe fn tile<S: Vector, const R: usize, const V: usize>(
    w: *const f32,
    p: *const f32,
    offsets: &[usize],
    out: *mut f32,
    ld_out: usize,
) {
    // SAFETY: the caller (`gemm_body`) passes pointers with R rows of k weights, V registers past every offset and R rows of V registers to write.
    unsafe {
        let k = offsets.len();
        let mut acc = [[S::zero(); V]; R];
        for (t, &offset) in offsets.iter().enumerate() {
            let src = p.add(offset);
            let mut b = [S::zero(); V];
            for (v, reg) in b.iter_mut().enumerate() {
                *reg = S::load(src.add(v * S::LANES));
            }
            for (r, acc_row) in acc.iter_mut().enumerate() {
                let a = S::splat(*w.add(r * k + t));
                for (reg, bv) in acc_row.iter_mut().zip(b) {
                    *reg = a.mul_add(bv, *reg);
                }
            }
        }
        for (r, acc_row) in acc.iter().enumerate() {
            for (v, reg) in acc_row.iter().enumerate() {
                reg.store(out.add(r * ld_out + v * S::LANES));
            }
        }
    }
}

/// `dw[t·og + m] += Σ_j dy_t[j·og + m] · padded[offsets[t] + positions[j]]`.
///
/// # Safety
/// `isa` must be available; og must be a multiple of 16; `padded` must hold
/// every `offsets[t] + positions[j]`, `dy_t` positions.len()·og values and `dw`
/// offsets.len()·og.
pub unsafe fn weight_gemm(
    isa: Isa,
    og: usize,
    dy_t: &[f32],
    positions: &[usize],
    padded: &[f32],
    offsets: &[usize],
    dw: &mut [f32],
) {
    // SAFETY: the caller upholds this function's contract, which covers the dispatch below.
    unsafe {
        debug_assert!(og.is_multiple_of(16) && dy_t.len() >= positions.len() * og);
        debug_assert!(dw.len() >= offsets.len() * og);
        match isa {
            Isa::Avx512 => weight_gemm_avx512(og, dy_t, positions, padded, offsets, dw),
            Isa::Avx2 => weight_gemm_avx2(og, dy_t, positions, padded, offsets, dw),
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn weight_gemm_avx512(
    og: usize,
    dy_t: &[f32],
    positions: &[usize],
    padded: &[f32],
    offsets: &[usize],
    dw: &mut [f32],
) {
    // SAFETY: AVX-512F is enabled here; the bounds are the caller's (see `weight_gemm`).
    unsafe {
        weight_gemm_body::<V512, { V512::WEIGHT_TAPS }>(og, dy_t, positions, padded, offsets, dw)
    }
}

#[target_feature(enable = "avx2,fma")]
unsafe fn weight_gemm_avx2(
    og: usize,
    dy_t: &[f32],
    positions: &[usize],
    padded: &[f32],
    offsets: &[usize],
    dw: &mut [f32],
) {
    // SAFETY: AVX2 and FMA are enabled here; the bounds are the caller's (see `weight_gemm`).
    unsafe {
        weight_gemm_body::<V256, { V256::WEIGHT_TAPS }>(og, dy_t, positions, padded, offsets, dw)
    }
}

#[inline(always)]
unsafe fn weight_gemm_body<S: Vector, const T: usize>(
    og: usize,
    dy_t: &[f32],
    positions: &[usize],
    padded: &[f32],
    offsets: &[usize],
    dw: &mut [f32],
) {
    // SAFETY: reads stay within `dy_t` (positions·og), `padded` (offset + position, as `weight_gemm` requires) and writes within `dw` (taps·og; og a multiple of 16 covers every register).
    unsafe {
        let p = padded.as_ptr();
        for (tile, taps) in offsets.chunks(T).enumerate() {
            // Taps past the given ones read from `p` itself and are dropped.
            let mut starts = [p; T];
            for (start, &offset) in starts.iter_mut().zip(taps) {
                *start = p.add(offset);
            }
            let mut m0 = 0;
            while m0 < og {
                let dy = dy_t.as_ptr().add(m0);
                let out = dw.as_mut_ptr().add(tile * T * og + m0);
                if og - m0 >= 2 * S::LANES {
                    weight_tile::<S, T, 2>(dy, og, positions, &starts, out, taps.len());
                    m0 += 2 * S::LANES;
                } else {
                    weight_tile::<S, T, 1>(dy, og, positions, &starts, out, taps.len());
                    m0 += S::LANES;
                }
            }
        }
    }
}

/// Adds the gradient of `live` taps × V registers of output channels into `out`
/// (row stride `ld`, the output channels per group).
#[inline(always)]
unsafe fn weight_tile<S: Vector, const T: usize, const V: usize>(
    dy: *const f32,
    ld: usize,
    positions: &[usize],
    starts: &[*const f32; T],
    out: *mut f32,
    live: usize,
) {
    // SAFETY: the caller (`weight_gemm_body`) passes `dy` rows of V registers for every position, tap starts valid at every position and `live` rows of V registers at `out`.
    unsafe {
        let mut acc = [[S::zero(); V]; T];
        for (j, &i) in positions.iter().enumerate() {
            let row = dy.add(j * ld);
            let mut d = [S::zero(); V];
            for (v, reg) in d.iter_mut().enumerate() {
                *reg = S::load(row.add(v * S::LANES));
            }
            for (acc_t, start) in acc.iter_mut().zip(starts) {
                let a = S::splat(*start.add(i));
                for (reg, dv) in acc_t.iter_mut().zip(d) {
                    *reg = a.mul_add(dv, *reg);
                }
            }
        }
        for (t, acc_t) in acc.iter().enumerate().take(live) {
            for (v, reg) in acc_t.iter().enumerate() {
                let dst = out.add(t * ld + v * S::LANES);
                S::load(dst).add(*reg).store(dst);
            }
        }
    }
}
