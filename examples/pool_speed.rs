//! Times forward and backward of cifar10_quick's three poolings (batch 100,
//! 3×3 windows, stride 2, Caffe's ceil mode) through the Pooling layer.
//!
//! Usage: `cargo run --release --example pool_speed [THREADS] [ITERATIONS]`
//! (defaults 2 and 20). Prints the median time per pass.

use std::time::Instant;

use caffers::blob::Blob;
use caffers::error::SourceFile;
use caffers::layers::{create, BuildContext, RunContext};
use caffers::proto::{LayerParameter, Phase};
use caffers::rng::Rng;

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
    println!("batch 100, {threads} thread(s), median of {iterations} after 3 warm-up passes");
    println!("{:<22} {:>10} {:>10}", "layer", "fwd ms", "bwd ms");
    let mut rng = Rng::new(1);
    for (name, pool, size) in [
        ("pool1 MAX 32² → 16²", "MAX", 32),
        ("pool2 AVE 16² → 8²", "AVE", 16),
        ("pool3 AVE 8² → 4²", "AVE", 8),
    ] {
        let text = format!(
            r#"name: "p" type: "Pooling" bottom: "x" top: "y"
               pooling_param {{ pool: {pool} kernel_size: 3 stride: 2 }}"#
        );
        let src = SourceFile::new("pool_speed", text);
        let tree = caffers::text::parse(&src).map_err(|e| e.to_string())?;
        let param: LayerParameter =
            caffers::text::from_message(&src, &tree).map_err(|e| e.to_string())?;
        let mut layer = create(&param, &BuildContext::default())?;
        let bottom_shape = vec![100, 32, size, size];
        let top_shapes = layer.reshape(std::slice::from_ref(&bottom_shape))?;
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
                layer.forward(&b, &mut tops, &mut [], &mut ctx)?;
            }
            let t1 = Instant::now();
            {
                let t: Vec<&Blob> = tops.iter().collect();
                layer.backward(&t, &[true], &mut bottoms, &mut [], &mut ctx)?;
            }
            let t2 = Instant::now();
            if it >= 3 {
                fwd.push((t1 - t0).as_secs_f64() * 1e3);
                bwd.push((t2 - t1).as_secs_f64() * 1e3);
            }
        }
        println!("{:<22} {:>10.3} {:>10.3}", name, median(fwd), median(bwd));
    }
    Ok(())
}
