//! `caffers draw NET -o net.svg|png`: the layer graph with blob shapes, as Caffe's
//! draw_net.py (see [`crate::draw`]).

use std::path::PathBuf;

use clap::Args;

use super::args::{parse_input_shape, parse_phase};
use crate::draw::diagram::diagram;
use crate::draw::render::{write_drawing, RankDir};
use crate::error::Result;
use crate::load::load_net;
use crate::net::{graph_of, NetOptions};
use crate::proto::{NetState, Phase};
use crate::shape::Shape;

fn parse_rankdir(s: &str) -> std::result::Result<RankDir, String> {
    match s.to_ascii_uppercase().as_str() {
        "TB" => Ok(RankDir::TopBottom),
        "LR" => Ok(RankDir::LeftRight),
        _ => Err(format!("unknown direction `{s}` (use TB or LR)")),
    }
}

#[derive(Args, Debug, Clone)]
pub struct DrawArgs {
    /// The net (.prototxt).
    pub net: PathBuf,
    /// The drawing to write (.svg or .png).
    #[arg(short, long)]
    pub output: PathBuf,
    /// The phase whose layers are drawn.
    #[arg(long, value_parser = parse_phase, default_value = "train")]
    pub phase: Phase,
    /// Layers flow top to bottom (TB) or left to right (LR).
    #[arg(long, value_parser = parse_rankdir, default_value = "TB")]
    pub rankdir: RankDir,
    /// Shape of a data or Input layer's top when its source is not there, e.g.
    /// `data=100,3,32,32` (repeatable).
    #[arg(long = "input-shape", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Shape)>,
    /// Add a stage to the net state (repeatable).
    #[arg(long = "stage")]
    pub stages: Vec<String>,
}

pub fn run(args: &DrawArgs) -> Result<()> {
    let loaded = load_net(&args.net)?;
    let state = NetState {
        phase: Some(args.phase),
        level: None,
        stage: args.stages.clone(),
    };
    let options = NetOptions {
        data_shapes: args.input_shapes.iter().cloned().collect(),
        ..Default::default()
    };
    let graph = graph_of(&loaded, &state, &options)?;
    write_drawing(&diagram(&graph), args.rankdir, &args.output)?;
    println!("{}", args.output.display());
    Ok(())
}
