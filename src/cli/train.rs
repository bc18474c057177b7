//! `caffers train`: Caffe's `caffe train` — a solver file in, Caffe's log lines and
//! snapshot files out.

use std::path::{Path, PathBuf};

use clap::Args;

use super::engine_args::Engine;
use super::train_engine::TrainEngineArgs;
use super::train_steering::SteeringArgs;
use crate::data::tools::data_dir::relocate_to_data_dir;
use crate::engine::train::CandleTraining;
use crate::engine::{CandleNet, CandleSolver};
use crate::error::{Error, Result};
use crate::load::solver_field_error;
use crate::load::LoadedNet;
use crate::log::info;
use crate::net::Net;
use crate::proto::{NetState, SolverMode, SolverParameter};
use crate::solver::nets::{build_loaded_nets, run_seed, solver_nets};
use crate::solver::prefix_lock::PrefixLock;
use crate::solver::snapshot_files::{default_prefix, newest_state_for_prefix, newest_state_in_dir};
use crate::solver::Solver;
use crate::solver_overrides::{load_solver_with, source_of, SolverOverride};

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// The solver (.prototxt or .toml).
    pub solver_file: Option<PathBuf>,
    /// The solver, as Caffe's flag.
    #[arg(long = "solver")]
    pub solver: Option<PathBuf>,
    /// Resume from a .solverstate, or from the newest one in a directory
    /// (cannot be combined with --weights).
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Fine-tune from weights: comma-separated .caffemodel files, copied by layer name.
    #[arg(long)]
    pub weights: Option<String>,
    /// Extra stages for the training net (repeatable).
    #[arg(long = "stage", value_delimiter = ',')]
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
    pub steering: SteeringArgs,
    #[command(flatten)]
    pub engine: TrainEngineArgs,
    #[command(flatten)]
    pub watch: super::watch::WatchArgs,
}

/// Reads the solver's nets, points their missing data at caffers.toml's
/// `data_dir` (see [`crate::data::tools::data_dir`]) and makes missing datasets
/// with known names (see [`crate::data::tools::prepare`]).
fn nets_with_data(
    param: &SolverParameter,
    file: &Path,
    offline: bool,
) -> Result<Vec<(LoadedNet, NetState)>> {
    let mut settings = crate::settings::RunSettings::load_from(Path::new("."))?;
    settings.offline |= offline;
    let mut nets = solver_nets(param, file)?;
    let mut paths = Vec::new();
    for (loaded, _) in &mut nets {
        if let Some(dir) = &settings.data_dir {
            let moved = relocate_to_data_dir(&mut loaded.net, Path::new(dir));
            for (written, now) in moved {
                info(
                    "data_dir",
                    &format!(
                        "{written} is missing: using {} (data_dir in caffers.toml)",
                        now.display()
                    ),
                );
            }
        }
        paths.extend(crate::data::tools::prepare::data_paths(&loaded.net));
    }
    crate::data::tools::prepare::prepare(&paths, &settings).map_err(Error::Usage)?;
    Ok(nets)
}

/// A net whose data comes from Input layers cannot train: nothing fills them.
fn refuse_input_only(net: &Net, what: &str) -> Result<()> {
    let inputs = net.input_layer_tops();
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

/// Fine-tuning: copies comma-separated .caffemodel files into `net` by layer name.
fn load_weights(net: &mut Net, weights: Option<&str>) -> Result<()> {
    for w in weights.unwrap_or("").split(',').filter(|w| !w.is_empty()) {
        info("caffe.cpp:226", &format!("Finetuning from {w}"));
        net.load_caffemodel(Path::new(w))?;
    }
    Ok(())
}

/// What the candle training loop does not do yet, refused by name rather than
/// silently skipped.
fn refuse_on_candle(args: &TrainArgs, param: &SolverParameter) -> Result<()> {
    let missing = [
        (
            args.snapshot.is_some() || args.steering.resume,
            "resuming (--snapshot, --resume)",
        ),
        (param.moving_average_decay() > 0.0, "moving_average_decay"),
        (args.debug_info || param.debug_info(), "debug_info"),
    ];
    match missing.iter().find(|(asked, _)| *asked) {
        Some((_, what)) => Err(Error::Usage(format!(
            "training on the candle engine does not support {what} yet; use --engine native"
        ))),
        None => Ok(()),
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
    let overrides = (args.steering.set.iter())
        .map(|a| SolverOverride::parse(a))
        .collect::<Result<Vec<_>>>()?;
    let (mut param, src) = load_solver_with(&file, &overrides)?;
    let rules = crate::solver::validate(&param).map_err(|e| {
        solver_field_error(source_of(e.field, &overrides, &src), e.field, e.message)
    })?;
    if let Some(prefix) = default_prefix(param.snapshot_prefix.as_deref(), &file) {
        let why = match param.snapshot_prefix() {
            "" => "was not specified and is set to",
            _ => "was a directory and is replaced to",
        };
        info(
            "upgrade_proto.cpp:1102",
            &format!("snapshot_prefix {why} {}", prefix.display()),
        );
        param.snapshot_prefix = Some(prefix.display().to_string());
    }
    if !args.engine.chosen() {
        args.steering.note_gpu();
    }
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
    let solver_gpu =
        (param.solver_mode() == SolverMode::Gpu).then(|| param.device_id().max(0) as usize);
    let engine = args
        .engine
        .resolve(args.steering.gpu.as_deref(), solver_gpu)?;
    if param.solver_mode() == SolverMode::Gpu && !args.engine.chosen() {
        info("caffe.cpp:214", &format!("warning: {} asks for solver_mode: GPU; caffers runs on the CPU, so training runs on the CPU", file.display()));
    }
    let seed = run_seed(&param);
    let extra = NetState {
        phase: None,
        level: args.level,
        stage: args.stages.clone(),
    };
    if let Engine::Native = engine {
        info("caffe.cpp:218", "Using CPUs only.");
    }
    let nets = nets_with_data(&param, &file, args.offline)?;
    let (net, tests) = build_loaded_nets(nets, &param, &file, &extra, seed)?;
    refuse_input_only(&net, "training")?;
    for t in &tests {
        refuse_input_only(&t.net, "test")?;
    }
    if let Engine::Candle(device) = &engine {
        refuse_on_candle(args, &param)?;
        let mut net = net;
        load_weights(&mut net, args.weights.as_deref())?;
        let candle_net = CandleNet::from_net(net, device)?;
        let solver = CandleSolver::new(param, rules, candle_net)?;
        super::signals::install(args.steering.sigint_effect, args.steering.sighup_effect)?;
        info("caffe.cpp:252", "Starting Optimization");
        CandleTraining::new(solver, tests, &prefix).solve()?;
        drop(watch);
        info("caffe.cpp:263", "Optimization Done.");
        drop(lock);
        return Ok(());
    }
    let mut solver = Solver::new(param, rules, net, tests);
    solver.debug_info |= args.debug_info;
    load_weights(&mut solver.net, args.weights.as_deref())?;
    let state = match &args.snapshot {
        Some(dir) if dir.is_dir() => Some(newest_state_in_dir(dir)?),
        Some(state) => Some(state.clone()),
        None if args.steering.resume => Some(newest_state_for_prefix(&solver.snapshot_prefix)?),
        None => None,
    };
    if let Some(state) = &state {
        info(
            "caffe.cpp:250",
            &format!("Resuming from {}", state.display()),
        );
        solver.restore(state)?;
    }
    super::signals::install(args.steering.sigint_effect, args.steering.sighup_effect)?;
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
