//! `caffers check`: validate a net or solver file and show each net's layers,
//! shapes, parameter counts and forward cost (see [`crate::check`]).

use std::path::PathBuf;

use clap::Args;

use super::args::{parse_input_shape, parse_phase};
use crate::check::{check_file, CheckOptions};
use crate::error::Result;
use crate::proto::Phase;
use crate::shape::Shape;

#[derive(Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// A net (.prototxt) or solver (.prototxt or .toml) file.
    pub file: PathBuf,
    /// Check only this phase (default: every phase the file's rules mention).
    #[arg(long, value_parser = parse_phase)]
    pub phase: Option<Phase>,
    /// Add a stage to the net state (repeatable).
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    /// The net state's level.
    #[arg(long)]
    pub level: Option<i32>,
    /// Shape of a data or Input layer's top, e.g. `data=64,1,28,28` (repeatable).
    #[arg(long = "input-shape", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Shape)>,
    /// Print one JSON object per checked net and phase instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `caffers check` and returns what it prints.
pub fn check_to_string(args: &CheckArgs) -> Result<String> {
    let options = CheckOptions {
        phase: args.phase,
        stages: args.stages.clone(),
        level: args.level,
        input_shapes: args.input_shapes.iter().cloned().collect(),
    };
    let mut out = String::new();
    for r in &check_file(&args.file, &options)? {
        if args.json {
            out.push_str(&serde_json::to_string(r).expect("reports serialize"));
        } else {
            out.push_str(&r.table());
        }
        out.push('\n');
    }
    Ok(out)
}

pub fn run(args: &CheckArgs) -> Result<()> {
    let out = check_to_string(args)?;
    print!("{out}");
    Ok(())
}
