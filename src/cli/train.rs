//! `caffers train`: Caffe's `caffe train` — a solver file in, Caffe's log lines and
//! snapshot files out.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{Error, Result};
use crate::load::{load_solver, read_text, solver_field_error};
use crate::log::info;
use crate::net::Net;
use crate::proto::{NetState, SolverMode, SolverParameter};
use crate::solver::nets::{build_nets, run_seed, solver_nets};
use crate::solver::prefix_lock::PrefixLock;
use crate::solver::Solver;

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The solver (.prototxt or .toml).
    pub solver_file: Option<PathBuf>,
    /// The solver, as Caffe's flag.
    #[arg(long = "solver")]
    pub solver: Option<PathBuf>,
    /// Resume from a .solverstate (cannot be combined with --weights).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Fine-tune from weights: comma-separated .caffemodel files, copied by layer name.
    #[arg(long)]
    pub weights: Option<String>,
    /// Extra stages for the training net (repeatable).
    #[arg(long = "stage")]
    pub stages: Vec<String>,
    #[arg(long)]
    pub level: Option<i32>,
    /// Never download a missing dataset archive (as `offline = true` in caffers.toml).
    #[arg(long)]
    pub offline: bool,
    /// Log each layer's mean absolute data and diff every iteration, as the
    /// solver's `debug_info: true` (Caffe's [Forward]/[Backward]/[Update] lines).
    #[arg(long = "debug-info")]
    pub debug_info: bool,
    #[command(flatten)]
    pub watch: super::watch::WatchArgs,
}

/// Makes missing datasets with known names before the nets are built
/// (see [`crate::data::tools::prepare`]).
fn prepare_data(param: &SolverParameter, file: &Path, offline: bool) -> Result<()> {
    let mut settings = crate::settings::RunSettings::load_from(Path::new("."))?;
    settings.offline |= offline;
    let mut paths = Vec::new();
    for (loaded, _) in solver_nets(param, file)? {
        paths.extend(crate::data::tools::prepare::data_paths(&loaded.net));
    }
    crate::data::tools::prepare::prepare(&paths, &settings).map_err(Error::Usage)
}

/// A net whose data comes from Input layers cannot train: nothing fills them.
fn refuse_input_only(net: &Net, what: &str) -> Result<()> {
    let inputs: Vec<&str> = net
        .graph
        .layers
        .iter()
        .filter(|l| l.type_name() == "Input")
        .flat_map(|l| l.param.top.iter().map(String::as_str))
        .collect();
    if inputs.is_empty() {
        Ok(())
    } else {
        Err(Error::Net {
            net: net.graph.name.clone(),
            message: format!(
                "the {what} net takes its data from Input layers ({}), which nothing fills during training; use data layers (Data, ImageData, …)",
                inputs.join(", ")
            ),
        })
    }
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let file = args
        .solver
        .clone()
        .or(args.solver_file.clone())
        .ok_or_else(|| Error::Usage("give a solver file: caffers train solver.prototxt".into()))?;
    if args.snapshot.is_some() && args.weights.is_some() {
        return Err(Error::Usage(
            "give either --snapshot or --weights, not both (Caffe's rule)".into(),
        ));
    }
    let param = load_solver(&file)?;
    let rules = crate::solver::validate(&param).map_err(|e| match read_text(&file) {
        Ok(src) => solver_field_error(&src, e.field, e.message),
        Err(read) => read,
    })?;
    // Held to the end of the run; the kernel releases it if the process dies.
    let lock = PrefixLock::claim(Path::new(param.snapshot_prefix()))?;
    // The log file opens once the prefix is ours (so a refused run cannot move the
    // running one's log aside) and before the first log line.
    let prefix = PathBuf::from(param.snapshot_prefix());
    let mut watch = super::watch::start(&args.watch, &prefix)?;
    info(
        "solver.cpp:449",
        &format!("Snapshot prefix locked by {}", lock.path.display()),
    );
    if param.solver_mode() == SolverMode::Gpu {
        info("caffe.cpp:214", &format!("warning: {} asks for solver_mode: GPU; caffers runs on the CPU, so training runs on the CPU", file.display()));
    }
    let seed = run_seed(&param);
    let extra = NetState {
        phase: None,
        level: args.level,
        stage: args.stages.clone(),
    };
    info("caffe.cpp:218", "Using CPUs only.");
    prepare_data(&param, &file, args.offline)?;
    let (net, tests) = build_nets(&param, &file, &extra, seed)?;
    refuse_input_only(&net, "training")?;
    for t in &tests {
        refuse_input_only(&t.net, "test")?;
    }
    let mut solver = Solver::new(param, rules, net, tests);
    solver.debug_info |= args.debug_info;
    if let Some(weights) = &args.weights {
        for w in weights.split(',').filter(|w| !w.is_empty()) {
            info("caffe.cpp:226", &format!("Finetuning from {w}"));
            solver.net.load_caffemodel(Path::new(w))?;
        }
    }
    if let Some(state) = &args.snapshot {
        info(
            "caffe.cpp:250",
            &format!("Resuming from {}", state.display()),
        );
        solver.restore(state)?;
    }
    install_stop_handler();
    watch.observe(&args.watch, &prefix, &mut solver);
    info("caffe.cpp:252", "Starting Optimization");
    let mut no_feed = |_: &mut Net| Ok(());
    let mut no_test_feed = |_: &mut Net| Ok(());
    solver.solve(&mut no_feed, &mut no_test_feed)?;
    drop(watch);
    info("caffe.cpp:263", "Optimization Done.");
    drop(lock);
    Ok(())
}

/// Ctrl-C stops training after the current iteration (a final snapshot is written),
/// as Caffe's default `--sigint_effect stop`.
fn install_stop_handler() {
    let _ = ctrlc::set_handler(|| {
        crate::solver::solve::STOP_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
    });
}
