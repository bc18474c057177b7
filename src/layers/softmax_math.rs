//! The softmax kernel shared by Softmax, SoftmaxWithLoss and InfogainLoss: a
//! softmax over the middle axis of an (outer, channels, inner) view, computed as
//! Caffe does (subtract the per-position maximum, exponentiate, divide by the sum).

/// `out = softmax(x)` over `channels`, for every (outer, inner) position.
pub fn softmax_forward(x: &[f32], out: &mut [f32], outer: usize, channels: usize, inner: usize) {
    let dim = channels * inner;
    let mut scale = vec![0.0f32; inner];
    for n in 0..outer {
        let xs = &x[n * dim..(n + 1) * dim];
        let ys = &mut out[n * dim..(n + 1) * dim];
        scale.copy_from_slice(&xs[..inner]);
        for c in 1..channels {
            for (s, &v) in scale.iter_mut().zip(&xs[c * inner..(c + 1) * inner]) {
                if v > *s {
                    *s = v;
                }
            }
        }
        for c in 0..channels {
            let row = c * inner..(c + 1) * inner;
            for ((y, &v), &m) in ys[row.clone()].iter_mut().zip(&xs[row]).zip(&scale) {
                *y = (v - m).exp();
            }
        }
        scale.iter_mut().for_each(|s| *s = 0.0);
        for c in 0..channels {
            for (s, &y) in scale.iter_mut().zip(&ys[c * inner..(c + 1) * inner]) {
                *s += y;
            }
        }
        for c in 0..channels {
            for (y, &s) in ys[c * inner..(c + 1) * inner].iter_mut().zip(&scale) {
                *y /= s;
            }
        }
    }
}

/// The softmax gradient: `dx = y · (dy − Σ_c dy·y)` per position.
pub fn softmax_backward(
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    outer: usize,
    channels: usize,
    inner: usize,
) {
    let dim = channels * inner;
    let mut dot = vec![0.0f32; inner];
    for n in 0..outer {
        let r = n * dim..(n + 1) * dim;
        let (ys, dys, dxs) = (&y[r.clone()], &dy[r.clone()], &mut dx[r]);
        dot.iter_mut().for_each(|d| *d = 0.0);
        for c in 0..channels {
            let row = c * inner..(c + 1) * inner;
            for ((d, &a), &b) in dot.iter_mut().zip(&dys[row.clone()]).zip(&ys[row]) {
                *d += a * b;
            }
        }
        for c in 0..channels {
            let row = c * inner..(c + 1) * inner;
            for (((g, &a), &b), &d) in dxs[row.clone()]
                .iter_mut()
                .zip(&dys[row.clone()])
                .zip(&ys[row])
                .zip(&dot)
            {
                *g = (a - d) * b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_and_large_inputs_stay_finite() {
        // outer 1, channels 3, inner 2: positions are columns.
        let x = [1000.0, 0.0, 1001.0, 1.0, 999.0, 2.0];
        let mut y = [0.0; 6];
        softmax_forward(&x, &mut y, 1, 3, 2);
        for k in 0..2 {
            let s: f32 = (0..3).map(|c| y[c * 2 + k]).sum();
            assert!((s - 1.0).abs() < 1e-6, "{s}");
        }
        assert!(y.iter().all(|v| v.is_finite()));
        // Column 1 is softmax(0, 1, 2).
        let e = [1.0f32, 1f32.exp(), 2f32.exp()];
        let z: f32 = e.iter().sum();
        assert!((y[5] - e[2] / z).abs() < 1e-6);
        assert!(y[2] > y[0] && y[0] > y[4]);
    }
}
