//! Row-major single-precision GEMM, BLAS-style, over the `gemm` crate.

pub use gemm::Parallelism;

/// `C = alpha · op(A) · op(B) + beta · C` for row-major matrices, where `op(A)` is
/// m×k (A is stored k×m when `trans_a`), `op(B)` is k×n (stored n×k when
/// `trans_b`) and C is m×n; `lda`, `ldb`, `ldc` are the row strides of the stored
/// matrices. When `beta` is 0, C is not read (as in BLAS, NaNs in C do not
/// survive).
///
/// # Panics
/// When a slice is too short for its dimensions and stride (a caller bug).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    trans_a: bool,
    trans_b: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    parallelism: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    // The extent of a row-major `rows`×`cols` matrix with row stride `ld`.
    fn need(rows: usize, cols: usize, ld: usize) -> usize {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * ld + cols
        }
    }
    let (a_rows, a_cols) = if trans_a { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if trans_b { (n, k) } else { (k, n) };
    assert!(
        lda >= a_cols && a.len() >= need(a_rows, a_cols, lda),
        "sgemm: A ({a_rows}×{a_cols}, lda {lda}) does not fit {} values",
        a.len()
    );
    assert!(
        ldb >= b_cols && b.len() >= need(b_rows, b_cols, ldb),
        "sgemm: B ({b_rows}×{b_cols}, ldb {ldb}) does not fit {} values",
        b.len()
    );
    assert!(
        ldc >= n && c.len() >= need(m, n, ldc),
        "sgemm: C ({m}×{n}, ldc {ldc}) does not fit {} values",
        c.len()
    );
    if k == 0 || alpha == 0.0 {
        // Only the scaling of C remains.
        let rows = c.chunks_mut(ldc).take(m);
        for row in rows {
            for v in &mut row[..n] {
                *v = if beta == 0.0 { 0.0 } else { beta * *v };
            }
        }
        return;
    }
    // op(A)[i][p] lives at i·rs + p·cs.
    let (a_rs, a_cs) = if trans_a { (1, lda) } else { (lda, 1) };
    let (b_rs, b_cs) = if trans_b { (1, ldb) } else { (ldb, 1) };
    // SAFETY: the asserts above guarantee that every element addressed through
    // these strides lies inside the slices; `c` is borrowed mutably, so it cannot
    // overlap `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            beta != 0.0,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            // The crate computes dst := alpha·dst + beta·lhs·rhs.
            beta,
            alpha,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn naive(
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        beta: f32,
        c: &mut [f32],
        ldc: usize,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    let av = if ta { a[p * lda + i] } else { a[i * lda + p] };
                    let bv = if tb { b[j * ldb + p] } else { b[p * ldb + j] };
                    s += av as f64 * bv as f64;
                }
                let old = if beta == 0.0 {
                    0.0
                } else {
                    beta * c[i * ldc + j]
                };
                c[i * ldc + j] = (alpha as f64 * s) as f32 + old;
            }
        }
    }

    #[test]
    fn matches_naive_for_every_transpose_and_stride() {
        let mut rng = Rng::new(7);
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 10, 129), (5, 70, 0)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    for &(alpha, beta) in &[(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                        let (ar, ac) = if ta { (k, m) } else { (m, k) };
                        let (br, bc) = if tb { (n, k) } else { (k, n) };
                        let (lda, ldb, ldc) = (ac + 2, bc + 1, n + 3);
                        let a: Vec<f32> = (0..ar * lda).map(|_| rng.uniform(-1.0, 1.0)).collect();
                        let b: Vec<f32> = (0..br * ldb).map(|_| rng.uniform(-1.0, 1.0)).collect();
                        let c0: Vec<f32> = (0..m * ldc).map(|_| rng.uniform(-1.0, 1.0)).collect();
                        let (mut c1, mut c2) = (c0.clone(), c0.clone());
                        sgemm(
                            ta,
                            tb,
                            m,
                            n,
                            k,
                            alpha,
                            &a,
                            lda,
                            &b,
                            ldb,
                            beta,
                            &mut c1,
                            ldc,
                            Parallelism::None,
                        );
                        naive(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &mut c2, ldc);
                        for i in 0..m {
                            for j in 0..ldc {
                                let (x, y) = (c1[i * ldc + j], c2[i * ldc + j]);
                                if j >= n {
                                    // Padding columns are never touched.
                                    assert_eq!(x, c0[i * ldc + j]);
                                } else {
                                    assert!(
                                        (x - y).abs() <= 1e-5 * (1.0 + y.abs()) * (k as f32 + 1.0),
                                        "m{m} n{n} k{k} ta{ta} tb{tb}: {x} vs {y}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn beta_zero_ignores_nan_in_c() {
        let a = [1.0, 2.0];
        let b = [3.0, 4.0];
        let mut c = [f32::NAN];
        sgemm(
            false,
            false,
            1,
            1,
            2,
            1.0,
            &a,
            2,
            &b,
            1,
            0.0,
            &mut c,
            1,
            Parallelism::None,
        );
        assert_eq!(c[0], 11.0);
    }

    #[test]
    fn parallel_matches_serial() {
        let mut rng = Rng::new(3);
        let (m, n, k) = (96, 200, 150);
        let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut c1 = vec![0.0; m * n];
        let mut c2 = vec![0.0; m * n];
        sgemm(
            false,
            false,
            m,
            n,
            k,
            1.0,
            &a,
            k,
            &b,
            n,
            0.0,
            &mut c1,
            n,
            Parallelism::None,
        );
        sgemm(
            false,
            false,
            m,
            n,
            k,
            1.0,
            &a,
            k,
            &b,
            n,
            0.0,
            &mut c2,
            n,
            Parallelism::Rayon(2),
        );
        for (x, y) in c1.iter().zip(&c2) {
            assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()));
        }
    }
}
