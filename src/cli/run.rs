//! `caffers run`: picture in, picture out, for fully convolutional nets (the image
//! filters of `nets/filters/`, or any net whose output is an image). The net's one
//! Input is reshaped to the picture's size, with the Input's channel count (1: the
//! picture is made grey, 3: colour, B G R planes as Caffe's OpenCV loads them);
//! pixel values go in as 0–255, and the chosen blob comes out as a picture,
//! rounded and clipped to 0–255.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;

use crate::data::feed::image::{hwc_to_image, read_file_hwc};
use crate::error::{did_you_mean, Error, Result};
use crate::io::picture::write_picture;
use crate::load::load_net;
use crate::net::{graph_of, Net, NetGraph, NetOptions};
use crate::proto::NetState;

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The net (.prototxt), with one Input layer of 1 or 3 channels.
    #[arg(long)]
    pub model: PathBuf,
    /// Weights (.caffemodel); they override the net's inline blobs.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The picture to feed (PNG or JPEG).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the result (.png or .jpg).
    #[arg(long)]
    pub output: PathBuf,
    /// The blob to write (default: the net's output produced last).
    #[arg(long)]
    pub blob: Option<String>,
}

pub fn run(args: &RunArgs) -> Result<()> {
    let loaded = load_net(&args.model)?;
    let state = NetState::default();
    let declared = graph_of(&loaded, &state, &NetOptions::default())?;
    let (input, channels) = picture_input(&declared, &args.model)?;
    let (c, height, width, hwc) = read_file_hwc(&args.input, 0, 0, channels == 3)
        .map_err(|m| Error::Usage(format!("--input: {m}")))?;
    let options = NetOptions {
        data_shapes: HashMap::from([(input.clone(), vec![1, c, height, width])]),
        ..NetOptions::default()
    };
    let mut net = Net::from_loaded(&loaded, &state, &options)?;
    if let Some(w) = &args.weights {
        net.load_caffemodel(w)?;
    }
    let blob = match &args.blob {
        Some(name) => known_blob(&net.graph, name)?,
        None => last_output(&net.graph),
    };
    net.set_input(&input, &hwc_to_image(c, height, width, &hwc).values)?;
    net.forward()?;
    let shape = net.graph.blobs[blob].shape.clone();
    let name = &net.graph.blobs[blob].name;
    let [1, out_c @ (1 | 3), out_h, out_w] = shape[..] else {
        return Err(Error::Usage(format!(
            "blob `{name}` has shape {shape:?}; a picture is one image of 1 (grey) or 3 (colour) channels, N×C×H×W = 1×1×H×W or 1×3×H×W{}",
            hint_for(&net.graph)
        )));
    };
    let values = net.blob_data(name).unwrap_or(&[]);
    write_picture(&args.output, out_c, out_h, out_w, values)?;
    println!(
        "wrote blob `{name}` ({out_c}×{out_h}×{out_w}) to {}",
        args.output.display()
    );
    Ok(())
}

/// The net's one Input top and its channel count, which must be 1 or 3.
fn picture_input(graph: &NetGraph, model: &std::path::Path) -> Result<(String, usize)> {
    let inputs: Vec<usize> = graph
        .layers
        .iter()
        .filter(|l| l.type_name() == "Input")
        .flat_map(|l| l.tops.iter().copied())
        .collect();
    let fail = |message: String| Error::File {
        file: model.display().to_string(),
        message,
    };
    let [top] = inputs[..] else {
        let names: Vec<&str> = inputs
            .iter()
            .map(|&b| graph.blobs[b].name.as_str())
            .collect();
        return Err(fail(format!(
            "`caffers run` feeds one picture to one Input top, but the net has {} ({})",
            names.len(),
            names.join(", ")
        )));
    };
    let blob = &graph.blobs[top];
    match blob.shape[..] {
        [_, c @ (1 | 3), _, _] => Ok((blob.name.clone(), c)),
        _ => Err(fail(format!(
            "Input `{}` has shape {:?}; `caffers run` needs N×C×H×W with C = 1 (grey) or 3 (colour)",
            blob.name, blob.shape
        ))),
    }
}

/// The blob `--blob` names, or an error with the nearest name.
fn known_blob(graph: &NetGraph, name: &str) -> Result<usize> {
    graph
        .blobs
        .iter()
        .position(|b| b.name == name)
        .ok_or_else(|| {
            let hint = did_you_mean(name, graph.blobs.iter().map(|b| b.name.as_str()))
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            Error::Usage(format!("--blob: the net has no blob `{name}`{hint}"))
        })
}

/// The net output that the latest layer produced (Caffe lists outputs by name).
fn last_output(graph: &NetGraph) -> usize {
    graph
        .outputs
        .iter()
        .copied()
        .max_by_key(|&b| graph.blobs[b].producers.last().copied())
        .unwrap_or(graph.blobs.len() - 1)
}

/// Names the blobs that would make a picture, for the error about one that does not.
fn hint_for(graph: &NetGraph) -> String {
    let fits: Vec<&str> = graph
        .blobs
        .iter()
        .filter(|b| matches!(b.shape[..], [1, 1 | 3, _, _]))
        .map(|b| b.name.as_str())
        .collect();
    if fits.is_empty() {
        String::new()
    } else {
        format!(
            "; blobs that fit: {} (choose one with --blob)",
            fits.join(", ")
        )
    }
}
