//! The nets a solver trains and tests, as Caffe's Solver::InitTrainNet and
//! InitTestNets assemble them: where each comes from (a file or inline), the state
//! each runs in, and their seeds.

use std::path::{Path, PathBuf};

use super::solve::TestNet;
use crate::error::{Error, Result, SourceFile};
use crate::load::{load_net, net_from_source, LoadedNet};
use crate::net::{Net, NetOptions};
use crate::proto::{NetParameter, NetState, Phase, SolverParameter};

/// Finds a net file a solver names. Caffe resolves these paths from its own root
/// folder; we try the working directory, then the solver's folder and each folder
/// above it, so reference solvers work from anywhere.
pub fn resolve_net_path(named: &str, solver_file: &Path) -> PathBuf {
    let p = Path::new(named);
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    let mut dir = solver_file.parent();
    while let Some(d) = dir {
        let candidate = d.join(p);
        if candidate.exists() {
            return candidate;
        }
        dir = d.parent();
    }
    p.to_path_buf()
}

/// The nets a solver names, with the state each runs in.
pub fn solver_nets(
    solver: &SolverParameter,
    solver_file: &Path,
) -> Result<Vec<(LoadedNet, NetState)>> {
    let mut nets = Vec::new();
    let load =
        |named: &str| -> Result<LoadedNet> { load_net(&resolve_net_path(named, solver_file)) };
    let inline = |net: &NetParameter| -> Result<LoadedNet> {
        let text = crate::text::to_prototxt(net);
        let src = SourceFile::new(format!("{} (inline net)", solver_file.display()), text);
        net_from_source(&src)
    };
    let train_state = |s: &SolverParameter| {
        let mut st = s.train_state();
        st.phase = Some(Phase::Train);
        st
    };
    // Caffe's order: train_net_param, train_net, net_param, net (exactly one allowed).
    let train_sources = [
        solver.train_net_param.is_some(),
        solver.train_net.is_some(),
        solver.net_param.is_some(),
        solver.net.is_some(),
    ];
    let given = train_sources.iter().filter(|&&b| b).count();
    if given > 1 {
        return Err(Error::Usage(format!(
            "{}: give only one of net, net_param, train_net, train_net_param",
            solver_file.display()
        )));
    }
    if given == 0 {
        return Err(Error::Usage(format!(
            "{}: the solver names no net (set `net`)",
            solver_file.display()
        )));
    }
    let general = if let Some(p) = &solver.train_net_param {
        nets.push((inline(p)?, train_state(solver)));
        None
    } else if let Some(f) = &solver.train_net {
        nets.push((load(f)?, train_state(solver)));
        None
    } else if let Some(p) = &solver.net_param {
        let n = inline(p)?;
        nets.push((n.clone(), train_state(solver)));
        Some(n)
    } else if let Some(f) = &solver.net {
        let n = load(f)?;
        nets.push((n.clone(), train_state(solver)));
        Some(n)
    } else {
        None
    };
    // Test nets: explicit ones, then one per remaining test_iter using the general net.
    let mut tests: Vec<LoadedNet> = Vec::new();
    for p in &solver.test_net_param {
        tests.push(inline(p)?);
    }
    for f in &solver.test_net {
        tests.push(load(f)?);
    }
    if let Some(g) = &general {
        while tests.len() < solver.test_iter.len() {
            tests.push(g.clone());
        }
    }
    if solver.test_iter.len() != tests.len() {
        return Err(Error::Usage(format!(
            "{}: {} test_iter value(s) for {} test net(s); give one per test net",
            solver_file.display(),
            solver.test_iter.len(),
            tests.len()
        )));
    }
    if !solver.test_state.is_empty() && solver.test_state.len() != tests.len() {
        return Err(Error::Usage(format!(
            "{}: {} test_state value(s) for {} test net(s)",
            solver_file.display(),
            solver.test_state.len(),
            tests.len()
        )));
    }
    for (i, t) in tests.into_iter().enumerate() {
        let mut st = solver.test_state.get(i).cloned().unwrap_or_default();
        st.phase = Some(Phase::Test);
        nets.push((t, st));
    }
    Ok(nets)
}

/// The nets a solver names, built: the training net and each test net.
pub fn build_nets(
    solver: &SolverParameter,
    solver_file: &Path,
    extra: &NetState,
    seed: u64,
) -> Result<(Net, Vec<TestNet>)> {
    build_loaded_nets(
        solver_nets(solver, solver_file)?,
        solver,
        solver_file,
        extra,
        seed,
    )
}

/// [`build_nets`] over nets already read (and perhaps adjusted) by [`solver_nets`].
pub fn build_loaded_nets(
    nets: Vec<(LoadedNet, NetState)>,
    solver: &SolverParameter,
    solver_file: &Path,
    extra: &NetState,
    seed: u64,
) -> Result<(Net, Vec<TestNet>)> {
    let mut train: Option<Net> = None;
    let mut tests = Vec::new();
    let mut test_index = 0;
    for (loaded, state) in nets {
        let phase = state.phase.unwrap_or(Phase::Test);
        let mut stages = state.stage.clone();
        let mut level = state.level;
        if phase == Phase::Train {
            stages.extend(extra.stage.iter().cloned());
            level = extra.level.or(level);
        }
        let requested = NetState {
            phase: Some(phase),
            level,
            stage: stages,
        };
        let options = NetOptions {
            seed: seed.wrapping_add(if phase == Phase::Train {
                0
            } else {
                1 + test_index as u64
            }),
            ..Default::default()
        };
        let net = Net::from_loaded(&loaded, &requested, &options)?;
        if phase == Phase::Train && train.is_none() {
            train = Some(net);
        } else {
            let iterations = solver
                .test_iter
                .get(test_index)
                .copied()
                .unwrap_or(0)
                .max(0) as usize;
            tests.push(TestNet { net, iterations });
            test_index += 1;
        }
    }
    let train = train.ok_or_else(|| {
        Error::Usage(format!(
            "{}: the solver names no training net",
            solver_file.display()
        ))
    })?;
    Ok((train, tests))
}

/// The seed a run uses: the solver's random_seed, or one from the clock.
pub fn run_seed(solver: &SolverParameter) -> u64 {
    let seed = solver.random_seed();
    if seed >= 0 {
        seed as u64
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solver(text: &str) -> SolverParameter {
        crate::load::solver_from_source(&SourceFile::new("s.prototxt", text)).unwrap()
    }

    #[test]
    fn a_named_net_is_found_in_a_folder_above_the_solver() {
        let root = std::env::temp_dir().join(format!("caffers-resolve-{}", std::process::id()));
        let solver_dir = root.join("a/b");
        std::fs::create_dir_all(&solver_dir).unwrap();
        std::fs::create_dir_all(root.join("nets")).unwrap();
        std::fs::write(root.join("nets/n.prototxt"), "").unwrap();
        let solver_file = solver_dir.join("solver.prototxt");
        let found = resolve_net_path("nets/n.prototxt", &solver_file);
        let missing = resolve_net_path("nets/absent.prototxt", &solver_file);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(found, root.join("nets/n.prototxt"));
        assert_eq!(missing, PathBuf::from("nets/absent.prototxt"));
    }

    #[test]
    fn the_general_net_is_tested_once_per_test_iter() {
        let s = solver(
            "net_param { name: 'n' layer { name: 'x' type: 'Input' top: 'x' } }
             test_iter: 3 test_iter: 4 train_state { stage: 's' }",
        );
        let nets = solver_nets(&s, Path::new("s.prototxt")).unwrap();
        let states: Vec<(Option<Phase>, Vec<String>)> = nets
            .iter()
            .map(|(_, st)| (st.phase, st.stage.clone()))
            .collect();
        assert_eq!(
            states,
            vec![
                (Some(Phase::Train), vec!["s".to_string()]),
                (Some(Phase::Test), vec![]),
                (Some(Phase::Test), vec![]),
            ]
        );
        assert!(nets.iter().all(|(n, _)| n.net.name() == "n"));
    }

    #[test]
    fn one_training_net_source_only() {
        let s = solver("net: 'a.prototxt' train_net: 'b.prototxt'");
        let e = solver_nets(&s, Path::new("s.prototxt")).unwrap_err();
        assert!(
            e.to_string()
                .contains("give only one of net, net_param, train_net, train_net_param"),
            "{e}"
        );
    }
}
