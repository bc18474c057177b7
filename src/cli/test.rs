//! `caffers test`: Caffe's `caffe test` — score a model with given weights over N
//! batches, logging each batch and the averages.

use std::path::PathBuf;

use clap::Args;

use super::args::parse_phase;
use super::engine_args::EngineArgs;
use super::test_watch::WatchArgs;
use crate::engine::RunNet;
use crate::error::{Error, Result};
use crate::log::info;
use crate::net::{Net, NetOptions};
use crate::proto::{NetState, Phase};

#[derive(Args, Debug, Clone)]
pub struct TestArgs {
    /// The net (.prototxt).
    #[arg(long)]
    pub model: PathBuf,
    /// Trained weights (.caffemodel); with --watch, the directory of snapshots.
    #[arg(long)]
    pub weights: PathBuf,
    /// Batches to score.
    #[arg(long, default_value_t = 50)]
    pub iterations: usize,
    #[arg(long, value_parser = parse_phase, default_value = "test")]
    pub phase: Phase,
    #[arg(long = "stage", value_delimiter = ',')]
    pub stages: Vec<String>,
    #[arg(long)]
    pub level: Option<i32>,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Scores the model; returns (output name, mean, loss weight) per output element.
pub fn score(args: &TestArgs) -> Result<Vec<(String, f32, f32)>> {
    if args.iterations == 0 {
        return Err(Error::Usage(
            "--iterations must be at least 1: scoring 0 batches has no mean".into(),
        ));
    }
    let state = NetState {
        phase: Some(args.phase),
        level: args.level,
        stage: args.stages.clone(),
    };
    let mut net = Net::from_file(&args.model, &state, &NetOptions::default())?;
    let fed_by_caller = net.input_layer_tops();
    if !fed_by_caller.is_empty() {
        return Err(Error::Net {
            net: net.graph.name.clone(),
            message: format!(
                "its data comes from Input layers ({}), which nothing feeds in `caffers test`, so it would score zeros; test the train/test net with data layers (Data, ImageData, …), or run this one with `caffers forward --input` or `caffers classify`",
                fed_by_caller.join(", ")
            ),
        });
    }
    net.load_caffemodel(&args.weights)?
        .warn_uncovered(&args.weights);
    let engine = args.engine.resolve(None)?;
    let mut net = RunNet::new(net, engine.device())?;
    let mut sums: Vec<(String, f32, f32)> = Vec::new();
    let mut loss = 0.0;
    for i in 0..args.iterations {
        loss += net.forward()?;
        let values = net.output_values()?;
        for (name, v, _) in &values {
            info("caffe.cpp:304", &format!("Batch {i}, {name} = {v}"));
        }
        if i == 0 {
            sums = values;
        } else {
            for (s, v) in sums.iter_mut().zip(values) {
                s.1 += v.1;
            }
        }
    }
    let n = args.iterations.max(1) as f32;
    info("caffe.cpp:309", &format!("Loss: {}", loss / n));
    for s in &mut sums {
        s.1 /= n;
        let note = if s.2 != 0.0 {
            format!(" (* {} = {} loss)", s.2, s.2 * s.1)
        } else {
            String::new()
        };
        info("caffe.cpp:322", &format!("{} = {}{note}", s.0, s.1));
    }
    Ok(sums)
}

pub fn run(args: &TestArgs) -> Result<()> {
    if args.watch.watch {
        return super::test_watch::run(args);
    }
    score(args).map(|_| ())
}
