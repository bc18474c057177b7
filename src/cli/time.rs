//! `caffers time`: per-layer forward and backward milliseconds, as Caffe's `time`
//! command reports them, on random input (data layers are fed from outside).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::args::{parse_input_shape, parse_phase};
use super::engine_args::EngineArgs;
use crate::engine::CandleNet;
use crate::error::Result;
use crate::net::random_inputs::fill_random_inputs;
use crate::net::{Net, NetOptions};
use crate::proto::{NetState, Phase};
use crate::shape::Shape;

#[derive(Args, Debug, Clone)]
pub struct TimeArgs {
    /// The net (.prototxt).
    #[arg(long)]
    pub model: PathBuf,
    /// Timed iterations (after one untimed warm-up pass).
    #[arg(long, default_value_t = 50)]
    pub iterations: usize,
    /// Phase (Caffe's `time` defaults to TRAIN).
    #[arg(long, value_parser = parse_phase, default_value = "train")]
    pub phase: Phase,
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    #[arg(long)]
    pub level: Option<i32>,
    /// Shape of a data or Input layer's top, NAME=N,C,H,W (repeatable).
    #[arg(long = "input-shape", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Shape)>,
    /// Time the forward pass only.
    #[arg(long)]
    pub forward_only: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Times whole passes on the candle engine (its layers are not timed one by
/// one: on a GPU their work is asynchronous until the loss is read).
pub fn time_candle(net: &mut CandleNet, iterations: usize, forward_only: bool) -> Result<Timing> {
    net.forward()?;
    if !forward_only {
        net.backward()?;
    }
    let iterations = iterations.max(1);
    let (mut forward_ms, mut backward_ms) = (0.0, 0.0);
    for _ in 0..iterations {
        let start = Instant::now();
        net.forward()?;
        forward_ms += start.elapsed().as_secs_f64() * 1e3;
        if !forward_only {
            let start = Instant::now();
            net.backward()?;
            backward_ms += start.elapsed().as_secs_f64() * 1e3;
        }
    }
    let n = iterations as f64;
    Ok(Timing {
        layers: Vec::new(),
        forward_ms: forward_ms / n,
        backward_ms: backward_ms / n,
    })
}

/// Per-layer average times in milliseconds.
#[derive(Debug, Clone)]
pub struct Timing {
    pub layers: Vec<(String, String, f64, f64)>,
    pub forward_ms: f64,
    pub backward_ms: f64,
}

/// Times `iterations` forward(-backward) passes layer by layer.
pub fn time_net(net: &mut Net, iterations: usize, forward_only: bool) -> Result<Timing> {
    let n = net.graph.layers.len();
    let mut fwd = vec![0.0f64; n];
    let mut bwd = vec![0.0f64; n];
    // Warm-up: buffers are sized and caches filled before timing.
    net.forward()?;
    if !forward_only {
        net.backward()?;
    }
    let iterations = iterations.max(1);
    for _ in 0..iterations {
        for (i, t) in fwd.iter_mut().enumerate() {
            let start = Instant::now();
            net.forward_layer(i)?;
            *t += start.elapsed().as_secs_f64() * 1e3;
        }
        if !forward_only {
            net.clear_param_diffs();
            net.prepare_backward();
            // Every layer, as Caffe's `time` calls each layer's Backward whatever the net's
            // backward analysis says: on a net with no loss (a deploy net) the bottoms get no
            // gradient, but learnable layers still compute their parameter gradients, so
            // users' Forward-Backward figures compare with Caffe's.
            for i in (0..n).rev() {
                let start = Instant::now();
                net.backward_layer(i)?;
                bwd[i] += start.elapsed().as_secs_f64() * 1e3;
            }
        }
    }
    let it = iterations as f64;
    let layers = net
        .graph
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                l.name().to_string(),
                l.type_name().to_string(),
                fwd[i] / it,
                bwd[i] / it,
            )
        })
        .collect();
    Ok(Timing {
        layers,
        forward_ms: fwd.iter().sum::<f64>() / it,
        backward_ms: bwd.iter().sum::<f64>() / it,
    })
}

/// The report, ending with Caffe's three summary lines.
pub fn report(t: &Timing, iterations: usize) -> String {
    let width = t.layers.iter().map(|l| l.0.len()).max().unwrap_or(5).max(5);
    let mut out = format!("Average time per layer over {iterations} iterations:\n");
    out.push_str(&format!(
        "{:>width$}  {:<22} {:>12} {:>12}\n",
        "layer", "type", "forward ms", "backward ms"
    ));
    for (name, ty, f, b) in &t.layers {
        out.push_str(&format!("{name:>width$}  {ty:<22} {f:>12.4} {b:>12.4}\n"));
    }
    out.push_str(&format!("Average Forward pass: {:.4} ms.\n", t.forward_ms));
    out.push_str(&format!(
        "Average Backward pass: {:.4} ms.\n",
        t.backward_ms
    ));
    out.push_str(&format!(
        "Average Forward-Backward: {:.4} ms.\n",
        t.forward_ms + t.backward_ms
    ));
    out
}

pub fn run(args: &TimeArgs) -> Result<()> {
    let state = NetState {
        phase: Some(args.phase),
        level: args.level,
        stage: args.stages.clone(),
    };
    let options = NetOptions {
        data_shapes: args.input_shapes.iter().cloned().collect(),
        external_data: true,
        seed: 1,
    };
    let mut net = Net::from_file(&args.model, &state, &options)?;
    fill_random_inputs(&mut net, 7);
    let timing = match args.engine.resolve(None)?.device() {
        None => time_net(&mut net, args.iterations, args.forward_only)?,
        Some(device) => {
            let mut net = CandleNet::from_net(net, device)?;
            time_candle(&mut net, args.iterations, args.forward_only)?
        }
    };
    print!("{}", report(&timing, args.iterations));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::time_net;
    use crate::error::SourceFile;
    use crate::net::{Net, NetOptions};
    use crate::proto::NetState;

    /// A deploy net has no loss, so no layer "needs" backward; Caffe's `time` still
    /// runs each layer's Backward, and so must ours (every layer gets a backward time).
    #[test]
    fn a_net_without_loss_still_times_every_layers_backward() {
        let text = r#"
            layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
            layer { name: "conv" type: "Convolution" bottom: "x" top: "c"
                    convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "xavier" } } }
            layer { name: "relu" type: "ReLU" bottom: "c" top: "c" }
            layer { name: "ip" type: "InnerProduct" bottom: "c" top: "y"
                    inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
            layer { name: "prob" type: "Softmax" bottom: "y" top: "prob" }"#;
        let loaded = crate::load::net_from_source(&SourceFile::new("deploy", text)).unwrap();
        let mut net =
            Net::from_loaded(&loaded, &NetState::default(), &NetOptions::default()).unwrap();
        let timing = time_net(&mut net, 2, false).unwrap();
        for (name, _, _, backward_ms) in &timing.layers {
            assert!(*backward_ms > 0.0, "layer {name} was not run backward");
        }
    }
}
