//! Times forward and backward of cifar10_quick's three convolutions (batch 100)
//! through the Convolution layer, as the training step runs them: conv1's bottom
//! is data, so its backward computes only parameter gradients (as in Caffe).
//!
//! Usage: `cargo run --release --example conv_speed [THREADS] [ITERATIONS]`
//! (defaults 2 and 20). Prints the median time per pass and GFLOP/s, then the
//! same passes' GEMMs alone (same shapes, images split over the threads as the
//! layer splits them), which is what the GEMM-efficiency target measures.

use std::time::Instant;

use rayon::prelude::*;

use caffers::blob::Blob;
use caffers::error::SourceFile;
use caffers::kernels::gemm::{sgemm, Parallelism};
use caffers::layers::{create, BuildContext, RunContext};
use caffers::proto::{LayerParameter, Phase};
use caffers::rng::Rng;

struct Case {
    name: &'static str,
    channels: usize,
    size: usize,
    outputs: usize,
    backward_data: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args
        .get(1)
        .map_or(Ok(2), |s| s.parse())
        .map_err(|e| format!("threads: {e}"))?;
    let iterations: usize = args
        .get(2)
        .map_or(Ok(20), |s| s.parse())
        .map_err(|e| format!("iterations: {e}"))?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build_global()
        .map_err(|e| e.to_string())?;
    let batch = 100;
    let cases = [
        Case {
            name: "conv1 3→32 @32²",
            channels: 3,
            size: 32,
            outputs: 32,
            backward_data: false,
        },
        Case {
            name: "conv2 32→32 @16²",
            channels: 32,
            size: 16,
            outputs: 32,
            backward_data: true,
        },
        Case {
            name: "conv3 32→64 @8²",
            channels: 32,
            size: 8,
            outputs: 64,
            backward_data: true,
        },
    ];
    println!("batch {batch}, {threads} thread(s), median of {iterations} after 3 warm-up passes");
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>10}   GFLOP/s fwd / bwd",
        "layer", "fwd ms", "bwd ms", "total ms", ""
    );
    let mut total = 0.0;
    let mut rng = Rng::new(1);
    for c in &cases {
        let text = format!(
            r#"name: "{}" type: "Convolution" bottom: "x" top: "y"
               convolution_param {{ num_output: {} kernel_size: 5 pad: 2 stride: 1
                 weight_filler {{ type: "gaussian" std: 0.01 }} bias_filler {{ type: "constant" }} }}"#,
            c.name, c.outputs
        );
        let src = SourceFile::new("conv_speed", text);
        let tree = caffers::text::parse(&src).map_err(|e| e.to_string())?;
        let param: LayerParameter =
            caffers::text::from_message(&src, &tree).map_err(|e| e.to_string())?;
        let mut layer = create(&param, &BuildContext::default())?;
        let bottom_shape = vec![batch, c.channels, c.size, c.size];
        let top_shapes = layer.reshape(std::slice::from_ref(&bottom_shape))?;
        let mut params: Vec<Blob> = layer.param_shapes().iter().map(|s| Blob::new(s)).collect();
        layer.fill_params(&mut params, &mut rng);
        let mut bottoms = vec![Blob::new(&bottom_shape)];
        bottoms[0]
            .data
            .iter_mut()
            .for_each(|v| *v = rng.uniform(-1.0, 1.0));
        let mut tops = vec![Blob::new(&top_shapes[0])];
        tops[0]
            .diff
            .iter_mut()
            .for_each(|v| *v = rng.uniform(-1.0, 1.0));
        let macs = layer.forward_macs(std::slice::from_ref(&bottom_shape), &top_shapes) as f64;
        let mut run_rng = Rng::new(2);
        let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
        for it in 0..iterations + 3 {
            let mut ctx = RunContext {
                phase: Phase::Train,
                rng: &mut run_rng,
                param_propagate: &[],
            };
            let t0 = Instant::now();
            {
                let b: Vec<&Blob> = bottoms.iter().collect();
                layer.forward(&b, &mut tops, &mut params, &mut ctx)?;
            }
            let t1 = Instant::now();
            {
                let t: Vec<&Blob> = tops.iter().collect();
                layer.backward(&t, &[c.backward_data], &mut bottoms, &mut params, &mut ctx)?;
            }
            let t2 = Instant::now();
            if it >= 3 {
                fwd.push((t1 - t0).as_secs_f64() * 1e3);
                bwd.push((t2 - t1).as_secs_f64() * 1e3);
            }
            params
                .iter_mut()
                .for_each(|p| p.diff.iter_mut().for_each(|d| *d = 0.0));
        }
        let (f, b) = (median(fwd), median(bwd));
        let bwd_passes = if c.backward_data { 2.0 } else { 1.0 };
        total += f + b;
        println!(
            "{:<18} {:>10.2} {:>10.2} {:>10.2} {:>10}   {:.1} / {:.1}",
            c.name,
            f,
            b,
            f + b,
            "",
            2.0 * macs / f / 1e6,
            2.0 * macs * bwd_passes / b / 1e6
        );
    }
    println!("all three convolutions, forward + backward: {total:.2} ms");
    let (mut gemm_ms, mut gemm_flop) = (0.0, 0.0);
    for c in &cases {
        let (ms, flop) = gemm_only(c, batch, iterations, &mut rng);
        gemm_ms += ms;
        gemm_flop += flop;
        println!(
            "{:<18} GEMMs alone {:>8.2} ms   {:.1} GFLOP/s",
            c.name,
            ms,
            flop / ms / 1e6
        );
    }
    println!(
        "all three convolutions' GEMMs: {gemm_ms:.2} ms, {:.1} GFLOP/s",
        gemm_flop / gemm_ms / 1e6
    );
    Ok(())
}

/// The GEMMs of one forward and backward pass of case `c` (5×5 kernel, same size
/// out), per image as the layer runs them: forward W·cols, weight gradient
/// cols·dYᵀ, and (with backward_data) the flipped-kernel forward for the input
/// gradient. Returns the median milliseconds and the floating-point operations.
fn gemm_only(c: &Case, batch: usize, iterations: usize, rng: &mut Rng) -> (f64, f64) {
    let (cin, out, hw) = (c.channels, c.outputs, c.size * c.size);
    let (k, k_flipped) = (cin * 25, out * 25);
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect() };
    let (w, w_flipped, cols) = (
        random(out * k),
        random(cin * k_flipped),
        random(k.max(k_flipped) * hw),
    );
    let dy = random(out * hw);
    let threads = rayon::current_num_threads().max(1);
    let per = batch.div_ceil(threads);
    let mut outputs: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = (0..threads)
        .map(|_| (vec![0.0; out * hw], vec![0.0; k * out], vec![0.0; cin * hw]))
        .collect();
    let mut times = Vec::new();
    for it in 0..iterations + 3 {
        let t0 = Instant::now();
        outputs
            .par_iter_mut()
            .enumerate()
            .for_each(|(t, (y, dw, dx))| {
                let images = (t * per).min(batch)..((t + 1) * per).min(batch);
                for _ in images {
                    let par = Parallelism::None;
                    sgemm(
                        false, false, out, hw, k, 1.0, &w, k, &cols, hw, 0.0, y, hw, par,
                    );
                    sgemm(
                        false, true, k, out, hw, 1.0, &cols, hw, &dy, hw, 1.0, dw, out, par,
                    );
                    if c.backward_data {
                        let b = &cols[..k_flipped * hw];
                        sgemm(
                            false, false, cin, hw, k_flipped, 1.0, &w_flipped, k_flipped, b, hw,
                            0.0, dx, hw, par,
                        );
                    }
                }
            });
        if it >= 3 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    let passes = if c.backward_data { 3.0 } else { 2.0 };
    let flop = 2.0 * (out * hw * k) as f64 * passes * batch as f64;
    (median(times), flop)
}
