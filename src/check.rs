//! Checking a net or solver file, as `caffers check` does: the file is read and
//! (a solver) validated and its nets assembled, and every net is built in each
//! phase asked for (or each its rules mention) and reported.

use std::collections::HashMap;
use std::path::Path;

use crate::error::Result;
use crate::load::{load_any, solver_field_error, Loaded, LoadedNet};
use crate::net::filter::phases_mentioned;
use crate::net::report::NetReport;
use crate::net::{graph_of, NetOptions};
use crate::proto::{NetState, Phase};
use crate::shape::Shape;
use crate::solver::nets::solver_nets;

/// What to check a file's nets in.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Only this phase (default: every phase the file's rules mention, or a
    /// solver's own train and test phases).
    pub phase: Option<Phase>,
    /// Stages added to every net's state.
    pub stages: Vec<String>,
    /// The nets' level (default: the file's).
    pub level: Option<i32>,
    /// Shapes of data or Input layers' tops, by top name.
    pub input_shapes: HashMap<String, Shape>,
}

/// Builds one net in the given phases (or those its rules mention) with `base`'s
/// level and stages, and reports each.
pub fn check_net(
    loaded: &LoadedNet,
    phases: Option<&[Phase]>,
    base: &NetState,
    input_shapes: &HashMap<String, Shape>,
) -> Result<Vec<NetReport>> {
    let phases = phases
        .map(<[Phase]>::to_vec)
        .unwrap_or_else(|| phases_mentioned(&loaded.net));
    let options = NetOptions {
        data_shapes: input_shapes.clone(),
        ..Default::default()
    };
    phases
        .into_iter()
        .map(|phase| {
            let requested = NetState {
                phase: Some(phase),
                ..base.clone()
            };
            Ok(NetReport::new(&graph_of(loaded, &requested, &options)?))
        })
        .collect()
}

/// Checks a net or solver file (decided by its content) and reports every net
/// built.
pub fn check_file(file: &Path, options: &CheckOptions) -> Result<Vec<NetReport>> {
    let base = NetState {
        phase: None,
        level: options.level,
        stage: options.stages.clone(),
    };
    match load_any(file)? {
        Loaded::Net(loaded) => {
            let phases = options.phase.map(|p| vec![p]);
            check_net(&loaded, phases.as_deref(), &base, &options.input_shapes)
        }
        Loaded::Solver(solver, src) => {
            crate::solver::validate(&solver)
                .map_err(|e| solver_field_error(&src, e.field, e.message))?;
            let mut reports = Vec::new();
            for (loaded, state) in solver_nets(&solver, file)? {
                if options.phase.is_some_and(|p| Some(p) != state.phase) {
                    continue;
                }
                let mut merged = base.clone();
                merged.level = options.level.or(state.level);
                merged.stage.extend(state.stage.iter().cloned());
                reports.extend(check_net(
                    &loaded,
                    state.phase.as_ref().map(std::slice::from_ref),
                    &merged,
                    &options.input_shapes,
                )?);
            }
            Ok(reports)
        }
    }
}
