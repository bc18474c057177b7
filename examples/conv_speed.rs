//! Times forward and backward of cifar10_quick's three convolutions (batch 100)
//! through the Convolution layer, as the training step runs them: conv1's bottom
//! is data, so its backward computes only parameter gradients (as in Caffe).
//!
//! Usage: `cargo run --release --example conv_speed [THREADS] [ITERATIONS]`
//! (defaults 2 and 20). Prints the median time per pass and GFLOP/s.

use std::time::Instant;

use caffers::blob::Blob;
use caffers::error::SourceFile;
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
    Ok(())
}
