//! What `train` leaves for those watching a run: its Caffe-format log copied to
//! a file, `<snapshot_prefix>_curves.svg` redrawn at each test pass, and on a
//! terminal the live progress line. The flags of this are `train`'s `--log` and
//! `--no-curves`.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::ProgressBar;

use super::live_line::LiveLine;
use super::output;
use crate::curves::recorder::CurvesRecorder;
use crate::error::{Error, Result};
use crate::log::info;
use crate::solver::Solver;

#[derive(Args, Debug, Clone, Default)]
pub struct WatchArgs {
    /// Also write the log to FILE (default: <snapshot_prefix>.log; an existing one
    /// is kept as FILE.1).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Do not keep <snapshot_prefix>_curves.svg.
    #[arg(long = "no-curves")]
    pub no_curves: bool,
}

/// `prefix` with `suffix` appended to its last component (`lenet` → `lenet.log`),
/// as snapshot names are made.
fn beside_prefix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Moves an existing log aside to `<log>.1` (replacing an older one) so a run
/// never silently overwrites the previous run's log.
fn rotate(log: &Path) -> Result<Option<PathBuf>> {
    if !log.exists() {
        return Ok(None);
    }
    let old = beside_prefix(log, ".1");
    std::fs::rename(log, &old).map_err(|e| Error::io_write(&old, e))?;
    Ok(Some(old))
}

/// A run being watched; dropping it ends the live line (on success or error).
pub struct Watch {
    bar: Option<ProgressBar>,
}

/// Starts copying log lines to the run's log file; called before the run logs
/// anything, once the snapshot prefix is known.
pub fn start(args: &WatchArgs, prefix: &Path) -> Result<Watch> {
    let path = args
        .log
        .clone()
        .unwrap_or_else(|| beside_prefix(prefix, ".log"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io_write(dir, e))?;
    }
    let moved = rotate(&path)?;
    let file = File::create(&path).map_err(|e| Error::io_write(&path, e))?;
    output::copy_lines_to(file);
    info("caffe.cpp:200", &format!("Logging to {}", path.display()));
    if let Some(old) = moved {
        info(
            "caffe.cpp:200",
            &format!("The previous log was moved to {}", old.display()),
        );
    }
    Ok(Watch { bar: None })
}

/// Images one training iteration reads: the first data blob's batch size times
/// iter_size (0 when the net has no batched data blob).
fn images_per_iteration(solver: &Solver) -> usize {
    let graph = &solver.net.graph;
    let batch = graph
        .layers
        .iter()
        .find(|l| l.bottoms.is_empty() && !l.tops.is_empty())
        .and_then(|l| graph.blobs[l.tops[0]].shape.first().copied())
        .unwrap_or(0);
    batch * solver.param.iter_size().max(1) as usize
}

impl Watch {
    /// Adds the run's observers: the curves file (unless `--no-curves`) and, when
    /// stderr is a terminal, the live line.
    pub fn observe(&mut self, args: &WatchArgs, prefix: &Path, solver: &mut Solver) {
        if !args.no_curves {
            let name = prefix
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| solver.net.graph.name.clone());
            let path = beside_prefix(prefix, "_curves.svg");
            solver
                .observers
                .push(Box::new(CurvesRecorder::new(&name, path)));
        }
        if output::stderr_is_terminal() {
            let line = LiveLine::new(
                solver.iter,
                solver.param.max_iter(),
                images_per_iteration(solver),
            );
            self.bar = Some(line.bar());
            output::show_above(self.bar.clone());
            solver.observers.push(Box::new(line));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            output::show_above(None);
            bar.finish();
            // The finished line stays; later lines start below it.
            output::end_line();
        }
    }
}
