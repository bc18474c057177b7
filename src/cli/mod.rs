//! The `caffers` command line. Only this module knows the terminal: commands
//! return text or errors, and `run` prints them and picks the exit code.

pub mod args;
pub mod caffe_flags;
pub mod check;
pub mod classify;
pub mod data;
pub mod draw;
pub mod engine_args;
pub mod export;
pub mod forward;
pub mod live_line;
pub mod output;
pub mod plot;
pub mod run;
pub mod signals;
pub mod test;
pub mod test_watch;
pub mod time;
pub mod train;
pub mod train_engine;
pub mod train_steering;
pub mod watch;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "caffers",
    version,
    about = "Caffe-compatible CNN trainer and runner"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and validate a net or solver file, and print each net's layers and shapes.
    Check(check::CheckArgs),
    /// Run one forward (and optionally backward) pass and dump every blob to .npz.
    Forward(forward::ForwardArgs),
    /// Picture in, picture out: feed an image to a net and write a blob as an image.
    Run(run::RunArgs),
    /// Time each layer's forward and backward pass, as Caffe's `time`.
    Time(time::TimeArgs),
    /// Train with a solver file, as Caffe's `train`.
    Train(train::TrainArgs),
    /// Classify PNG/JPEG images with a deploy net and trained weights (classification.bin).
    Classify(classify::ClassifyArgs),
    /// Score a model with trained weights over N batches, as Caffe's `test`.
    Test(test::TestArgs),
    /// Make a dataset's LMDBs (and mean), as Caffe's create_mnist.sh / create_cifar10.sh.
    Data(data::DataArgs),
    /// Convert an image list to an LMDB of Datums, as Caffe's convert_imageset.
    ConvertImageset(data::ConvertImagesetArgs),
    /// Compute the mean image of an LMDB, as Caffe's compute_image_mean.
    ComputeMean(data::ComputeMeanArgs),
    /// Draw training curves (loss, test scores, lr) from caffers' or Caffe's logs.
    Plot(plot::PlotArgs),
    /// Draw a net's layer graph with blob shapes, as Caffe's draw_net.py.
    Draw(draw::DrawArgs),
    /// Write a net's trained weights as .safetensors under candle-nn's VarBuilder names.
    Export(export::ExportArgs),
}

/// Runs the command line and returns the process exit code: 0 on success, 1 on a
/// user error (reported on stderr), 2 on bad usage (clap's own).
pub fn run() -> ExitCode {
    let cli = Cli::parse_from(caffe_flags::rewrite_caffe_flags(std::env::args_os()));
    output::install_log_sink();
    let settings = match crate::settings::RunSettings::load_from(std::path::Path::new(".")) {
        Ok(s) => s,
        Err(e) => return report_error(&e),
    };
    settings.apply_threads();
    if let Some(limit) = settings.memory_limit {
        crate::net::budget::set_memory_limit(limit);
    }
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Forward(args) => forward::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Time(args) => time::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Data(args) => data::run(&args),
        Command::ConvertImageset(args) => data::convert_imageset(&args),
        Command::ComputeMean(args) => data::compute_mean(&args),
        Command::Plot(args) => plot::run(&args),
        Command::Draw(args) => draw::run(&args),
        Command::Export(args) => export::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report_error(&e),
    }
}

/// Prints an error on stderr (ignoring a closed stderr; `eprintln!` would panic) and
/// returns exit status 1.
fn report_error(e: &crate::error::Error) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "error: {e}");
    ExitCode::from(1)
}
