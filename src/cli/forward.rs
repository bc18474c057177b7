//! `caffers forward`: one forward (and optionally backward) pass with given
//! weights and inputs, dumping every blob in the fixtures' naming — how users debug
//! a net, and how parity with Caffe is checked from outside.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::args::{parse_input_shape, parse_phase};
use super::engine_args::EngineArgs;
use crate::engine::RunNet;
use crate::error::{Error, Result};
use crate::io::npy::{read_npy, write_npz, Array};
use crate::net::{Net, NetOptions};
use crate::proto::{NetState, Phase};
use crate::shape::Shape;

#[derive(Args, Debug, Clone)]
pub struct ForwardArgs {
    /// The net (.prototxt).
    #[arg(long)]
    pub model: PathBuf,
    /// Weights (.caffemodel); without them, parameters come from the fillers.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Phase to run in (Caffe's Net defaults to TEST).
    #[arg(long, value_parser = parse_phase, default_value = "test")]
    pub phase: Phase,
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    #[arg(long)]
    pub level: Option<i32>,
    /// An input blob's values: NAME=FILE.npy (repeatable).
    #[arg(long = "input", value_parser = parse_named_path)]
    pub inputs: Vec<(String, PathBuf)>,
    /// Also run backward (loss outputs seeded with their loss weight).
    #[arg(long)]
    pub backward: bool,
    /// The gradient injected at a non-loss output: NAME=FILE.npy (repeatable).
    #[arg(long = "top-diff", value_parser = parse_named_path)]
    pub top_diffs: Vec<(String, PathBuf)>,
    /// Shape of a data or Input layer's top, NAME=N,C,H,W (data layers then take --input values).
    #[arg(long = "input-shape", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Shape)>,
    /// Seed for fillers and random layers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write every blob (.npz).
    #[arg(long)]
    pub dump: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn parse_named_path(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=FILE"))?;
    Ok((name.to_string(), PathBuf::from(path)))
}

fn array_of(shape: &[usize], data: &[f32]) -> Array {
    Array {
        shape: shape.to_vec(),
        data: data.to_vec(),
    }
}

/// Runs the pass and returns the arrays to dump.
pub fn forward_arrays(args: &ForwardArgs) -> Result<BTreeMap<String, Array>> {
    let state = NetState {
        phase: Some(args.phase),
        level: args.level,
        stage: args.stages.clone(),
    };
    let options = NetOptions {
        data_shapes: args.input_shapes.iter().cloned().collect(),
        external_data: !args.input_shapes.is_empty(),
        seed: args.seed,
    };
    let mut net = Net::from_file(&args.model, &state, &options)?;
    if let Some(w) = &args.weights {
        net.load_caffemodel(w)?.warn_uncovered(w);
    }
    let mut out = BTreeMap::new();
    let mut given = Vec::new();
    for (name, path) in &args.inputs {
        let a = read_npy(path)?;
        out.insert(format!("input.{name}"), a.clone());
        given.push((name.clone(), a));
    }
    for (li, node) in net.graph.layers.iter().enumerate() {
        for (k, &p) in net.layer_params[li].iter().enumerate() {
            let b = &net.params[p];
            out.insert(
                format!("param.{}.{k}", node.name()),
                array_of(&b.shape, &b.data),
            );
        }
    }
    let engine = args.engine.resolve(None)?;
    let mut net = match engine.device() {
        // The native net reads its data layers, then lets given values replace
        // their batches (Net::forward_with).
        None => {
            net.forward_with(&given, !options.external_data)?;
            RunNet::new(net, None)?
        }
        // The candle net runs its data layers on the host each pass; given values
        // fill the Input layers' tops, which it uploads.
        Some(device) => {
            for (name, a) in &given {
                let s = net.data_slot(name).ok_or_else(|| {
                    Error::Usage(format!(
                        "--input names `{name}`, which is not a blob of the net"
                    ))
                })?;
                crate::net::given_inputs::check_array_shape(name, &a.shape, &net.slots[s].shape)
                    .map_err(|e| Error::Usage(format!("--input {name}: {e}")))?;
                net.set_input(name, &a.data)
                    .map_err(|e| Error::Usage(format!("--input {name}: {e}")))?;
            }
            let mut run = RunNet::new(net, Some(device))?;
            if args.backward {
                run.record_blob_diffs();
            }
            run.forward()?;
            run
        }
    };
    let host = net.host();
    for blob in &host.graph.blobs {
        let data = net.blob_data(&blob.name)?.unwrap_or_default();
        out.insert(format!("data.{}", blob.name), array_of(&blob.shape, &data));
    }
    for (li, node) in host.graph.layers.iter().enumerate() {
        for (k, &p) in host.layer_params[li].iter().enumerate() {
            out.insert(
                format!("param_after_forward.{}.{k}", node.name()),
                array_of(&host.params[p].shape, &net.param_data(p)?),
            );
        }
    }
    if args.backward {
        for (name, path) in &args.top_diffs {
            let a = read_npy(path)?;
            let host = net.host();
            let s = host.data_slot(name).ok_or_else(|| {
                Error::Usage(format!(
                    "--top-diff names `{name}`, which is not a blob of the net"
                ))
            })?;
            if host.slots[s].count() != a.data.len() {
                return Err(Error::Usage(format!(
                    "--top-diff {name}: {} values for a blob of shape {:?}",
                    a.data.len(),
                    host.slots[s].shape
                )));
            }
            net.set_top_diff(name, &a.data)?;
            out.insert(format!("topdiff.{name}"), a);
        }
        net.clear_param_diffs();
        net.backward()?;
        let host = net.host();
        for blob in &host.graph.blobs {
            let diff = net.blob_diff(&blob.name)?.unwrap_or_default();
            out.insert(format!("diff.{}", blob.name), array_of(&blob.shape, &diff));
        }
        for (li, node) in host.graph.layers.iter().enumerate() {
            for (k, &p) in host.layer_params[li].iter().enumerate() {
                out.insert(
                    format!("pdiff.{}.{k}", node.name()),
                    array_of(&host.params[p].shape, &net.param_diff(p)?),
                );
            }
        }
    }
    Ok(out)
}

pub fn run(args: &ForwardArgs) -> Result<()> {
    let arrays = forward_arrays(args)?;
    write_npz(&args.dump, &arrays)?;
    println!("wrote {} arrays to {}", arrays.len(), args.dump.display());
    Ok(())
}
