//! `caffers test --watch`: the separate evaluator of the TensorFlow recipe. Training
//! writes snapshots; this process scores each new `<prefix>_iter_N.caffemodel` in
//! a directory as it appears, one result line per snapshot on stdout. Snapshots
//! are renamed into place whole (src/io/atomic.rs), and the hidden temporaries
//! are never listed, so a half-written file is never read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::test::{score, TestArgs};
use crate::error::{Error, Result};
use crate::solver::snapshot_files::snapshots_in;

/// How often the directory is listed.
const POLL: Duration = Duration::from_millis(250);

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// --weights is a directory: score each new snapshot in it as it appears.
    #[arg(long)]
    pub watch: bool,
    /// Only snapshots of this prefix's file name (`lenet` for lenet_iter_N.caffemodel).
    #[arg(long, requires = "watch")]
    pub prefix: Option<String>,
    /// Stop after scoring this many snapshots.
    #[arg(long = "max-snapshots", requires = "watch")]
    pub max_snapshots: Option<usize>,
    /// Stop once this file exists and every snapshot before it is scored.
    #[arg(long, requires = "watch")]
    pub until: Option<PathBuf>,
}

/// Scores snapshots under `args.weights` until a stop condition holds (or the
/// process is interrupted).
pub fn run(args: &TestArgs) -> Result<()> {
    let dir = &args.weights;
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "--watch: --weights {} must be the directory snapshots are written to",
            dir.display()
        )));
    }
    let watch = &args.watch;
    let mut scored = BTreeSet::new();
    loop {
        // Read before listing: a snapshot written before the stop file is listed.
        let stopping = watch.until.as_deref().is_some_and(Path::exists);
        for (iter, path) in snapshots_in(dir, watch.prefix.as_deref(), ".caffemodel")? {
            if !scored.insert(path.clone()) {
                continue;
            }
            let one = TestArgs {
                weights: path.clone(),
                ..args.clone()
            };
            let scores = score(&one)?;
            let values: Vec<String> = scores
                .iter()
                .map(|(n, v, _)| format!("{n} = {v}"))
                .collect();
            println!("{} iteration {iter}: {}", path.display(), values.join(", "));
            if watch.max_snapshots.is_some_and(|n| scored.len() >= n) {
                return Ok(());
            }
        }
        if stopping {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}
