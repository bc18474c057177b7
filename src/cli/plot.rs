//! `caffers plot LOG… -o F.svg|png`: training curves from caffers' or Caffe's
//! logs, every log a run on the same chart (legend: the log's file stem).

use std::path::PathBuf;

use clap::Args;

use crate::curves::chart::write_chart;
use crate::curves::glog;
use crate::error::{Error, Result};

#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// Log files (caffers' `<snapshot_prefix>.log`, or Caffe's glog output).
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// The chart to write (.svg or .png).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: &PlotArgs) -> Result<()> {
    let mut runs = Vec::with_capacity(args.logs.len());
    for log in &args.logs {
        let text = std::fs::read_to_string(log).map_err(|e| Error::io(log, e))?;
        let name = log
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| log.display().to_string());
        let run = glog::parse(&name, &text);
        if run.is_empty() {
            return Err(Error::file(
                log.display().to_string(),
                "has no training lines (`Iteration N …, loss = X`, `lr = X`, `Test net output #k: name = X`); is it a Caffe or caffers log?",
            ));
        }
        runs.push(run);
    }
    write_chart(&runs, &args.output)?;
    println!("{}", args.output.display());
    Ok(())
}
