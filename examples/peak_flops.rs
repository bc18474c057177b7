//! Measures this machine's fp32 peak: twelve independent FMA chains per thread in
//! the widest vector registers the CPU has (AVX-512, else AVX2), on every thread
//! at once. The figure the speed issue's "% of peak" targets are measured against.
//!
//! Usage: `cargo run --release --example peak_flops [THREADS]` (default: all
//! available). Prints the best of five runs in GFLOP/s.

use std::time::Instant;

/// Inner-loop passes per run and thread: a few hundred milliseconds.
const ITERATIONS: u64 = 20_000_000;

/// Runs `f` on `threads` threads at once; returns the wall time in seconds.
fn timed_on_threads(threads: usize, f: fn(u64) -> f32) -> f64 {
    let start = Instant::now();
    let sums: Vec<f32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(move || f(ITERATIONS)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    // Use the results so that the loops cannot be dropped.
    assert!(sums.iter().all(|s| s.is_finite()));
    seconds
}

#[cfg(target_arch = "x86_64")]
mod chains {
    use std::arch::x86_64::*;

    /// Floating-point operations per iteration: 12 FMAs of 16 lanes, 2 flops each.
    pub const AVX512_FLOPS: f64 = 12.0 * 16.0 * 2.0;
    pub const AVX2_FLOPS: f64 = 12.0 * 8.0 * 2.0;

    macro_rules! fma_chains {
        ($name:ident, $feature:literal, $set1:ident, $fma:ident, $add:ident, $reduce:expr) => {
            #[target_feature(enable = $feature)]
            unsafe fn $name(iterations: u64) -> f32 {
                let a = $set1(0.999_999);
                let b = $set1(1e-7);
                let mut acc = [$set1(1.0); 12];
                for _ in 0..iterations {
                    // Twelve independent chains hide the FMA latency.
                    acc[0] = $fma(acc[0], a, b);
                    acc[1] = $fma(acc[1], a, b);
                    acc[2] = $fma(acc[2], a, b);
                    acc[3] = $fma(acc[3], a, b);
                    acc[4] = $fma(acc[4], a, b);
                    acc[5] = $fma(acc[5], a, b);
                    acc[6] = $fma(acc[6], a, b);
                    acc[7] = $fma(acc[7], a, b);
                    acc[8] = $fma(acc[8], a, b);
                    acc[9] = $fma(acc[9], a, b);
                    acc[10] = $fma(acc[10], a, b);
                    acc[11] = $fma(acc[11], a, b);
                }
                let mut total = acc[0];
                for v in &acc[1..] {
                    total = $add(total, *v);
                }
                $reduce(total)
            }
        };
    }

    fma_chains!(
        avx512_body,
        "avx512f",
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        |v| { _mm512_reduce_add_ps(v) }
    );
    fma_chains!(
        avx2_body,
        "avx2,fma",
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        |v| {
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), v);
            lanes.iter().sum::<f32>()
        }
    );

    pub fn avx512(iterations: u64) -> f32 {
        // SAFETY: only called after is_x86_feature_detected!("avx512f").
        unsafe { avx512_body(iterations) }
    }

    pub fn avx2(iterations: u64) -> f32 {
        // SAFETY: only called after detecting avx2 and fma.
        unsafe { avx2_body(iterations) }
    }
}

#[cfg(target_arch = "x86_64")]
fn main() {
    let threads = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (name, f, flops): (&str, fn(u64) -> f32, f64) = if is_x86_feature_detected!("avx512f") {
        ("AVX-512", chains::avx512, chains::AVX512_FLOPS)
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        ("AVX2+FMA", chains::avx2, chains::AVX2_FLOPS)
    } else {
        println!("no AVX2+FMA: nothing to measure");
        return;
    };
    let best = (0..5)
        .map(|_| timed_on_threads(threads, f))
        .fold(f64::INFINITY, f64::min);
    let gflops = flops * ITERATIONS as f64 * threads as f64 / best / 1e9;
    println!("{name} FMA peak, {threads} thread(s): {gflops:.1} GFLOP/s");
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("peak_flops measures x86-64 vector units only");
}
