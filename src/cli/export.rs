//! `caffers export --model M --weights W -o model.safetensors`: a trained net's
//! weights for candle programs, under candle-nn's `VarBuilder` names (see
//! [`crate::engine::export`]).

use std::path::PathBuf;

use clap::Args;

use crate::engine::export::write_safetensors;
use crate::error::{Error, Result};
use crate::net::{Net, NetOptions};
use crate::proto::{NetState, Phase};

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The net (.prototxt), usually the deploy net.
    #[arg(long)]
    pub model: PathBuf,
    /// Trained weights (.caffemodel).
    #[arg(long)]
    pub weights: PathBuf,
    /// The .safetensors file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: &ExportArgs) -> Result<()> {
    if args.output.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(Error::Usage(format!(
            "-o {}: the output is a .safetensors file",
            args.output.display()
        )));
    }
    let state = NetState {
        phase: Some(Phase::Test),
        ..Default::default()
    };
    let mut net = Net::from_file(&args.model, &state, &NetOptions::default())?;
    net.load_caffemodel(&args.weights)?
        .warn_uncovered(&args.weights);
    let n = write_safetensors(&net, &args.output)?;
    println!("wrote {n} tensors to {}", args.output.display());
    Ok(())
}
