//! The `caffers` command line. Only this module knows the terminal: commands
//! return text or errors, and `run` prints them and picks the exit code.

pub mod args;
pub mod check;
pub mod classify;
pub mod data;
pub mod forward;
pub mod test;
pub mod time;
pub mod train;

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
}

/// Runs the command line and returns the process exit code: 0 on success, 1 on a
/// user error (reported on stderr), 2 on bad usage (clap's own).
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // Log lines go to stderr, as Caffe's tools log with `alsologtostderr`. When the
    // reader of stderr is gone (`caffers train … 2>&1 | head`), training stops as on
    // Ctrl-C, with a final snapshot: nobody is watching a run that cannot log.
    let _ = crate::log::set_sink(Box::new(|line: &str| {
        if let Err(e) = writeln!(std::io::stderr().lock(), "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                crate::solver::solve::STOP_REQUESTED
                    .store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }));
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
        Command::Time(args) => time::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Classify(args) => classify::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Data(args) => data::run(&args),
        Command::ConvertImageset(args) => data::convert_imageset(&args),
        Command::ComputeMean(args) => data::compute_mean(&args),
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
