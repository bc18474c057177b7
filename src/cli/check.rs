//! `caffers check`: validate a net or solver file and show each net's layers,
//! shapes, parameter counts and forward cost.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::layers::BuildContext;
use crate::load::{load_any, net_from_source, Loaded, LoadedNet};
use crate::net::{build, net_state, NetGraph};
use crate::proto::{NetParameter, NetState, Phase, SolverParameter};
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

pub fn parse_phase(s: &str) -> Result<Phase, String> {
    match s.to_ascii_lowercase().as_str() {
        "train" => Ok(Phase::Train),
        "test" => Ok(Phase::Test),
        _ => Err(format!("unknown phase `{s}` (use train or test)")),
    }
}

pub fn parse_input_shape(s: &str) -> Result<(String, Shape), String> {
    let (name, dims) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=N,C,H,W"))?;
    let shape = dims
        .split([',', 'x', '×'])
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{d}` in `{s}` is not a dimension"))
        })
        .collect::<Result<Shape, String>>()?;
    Ok((name.to_string(), shape))
}

/// The JSON form of one checked net.
#[derive(Serialize, Debug)]
pub struct NetReport {
    pub name: String,
    pub phase: String,
    pub layers: Vec<LayerReport>,
    pub total_params: usize,
    pub total_macs: u64,
    pub outputs: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct LayerReport {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub bottoms: Vec<String>,
    pub tops: Vec<TopReport>,
    pub params: usize,
    pub macs: u64,
}

#[derive(Serialize, Debug)]
pub struct TopReport {
    pub name: String,
    pub shape: Vec<usize>,
}

impl NetReport {
    pub fn new(graph: &NetGraph) -> Self {
        let layers: Vec<LayerReport> = graph
            .layers
            .iter()
            .map(|l| {
                let bottom_shapes: Vec<Shape> = l
                    .bottoms
                    .iter()
                    .map(|&b| graph.blobs[b].shape.clone())
                    .collect();
                let top_shapes: Vec<Shape> = l
                    .tops
                    .iter()
                    .map(|&t| graph.blobs[t].shape.clone())
                    .collect();
                LayerReport {
                    name: l.name().to_string(),
                    type_name: l.type_name().to_string(),
                    bottoms: l.param.bottom.clone(),
                    tops: l
                        .param
                        .top
                        .iter()
                        .zip(&top_shapes)
                        .map(|(n, s)| TopReport {
                            name: n.clone(),
                            shape: s.clone(),
                        })
                        .collect(),
                    params: l.param_count(),
                    macs: l.layer.forward_macs(&bottom_shapes, &top_shapes),
                }
            })
            .collect();
        NetReport {
            name: graph.name.clone(),
            phase: graph.phase().to_string(),
            total_params: layers.iter().map(|l| l.params).sum(),
            total_macs: layers.iter().map(|l| l.macs).sum(),
            layers,
            outputs: graph
                .outputs
                .iter()
                .map(|&b| graph.blobs[b].name.clone())
                .collect(),
        }
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 6]> = vec![[
            "layer".into(),
            "type".into(),
            "bottoms".into(),
            "tops".into(),
            "params".into(),
            "MACs".into(),
        ]];
        for l in &self.layers {
            let tops: Vec<String> = l
                .tops
                .iter()
                .map(|t| {
                    let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
                    format!("{} {}", t.name, dims.join("×"))
                })
                .collect();
            rows.push([
                l.name.clone(),
                l.type_name.clone(),
                l.bottoms.join(", "),
                tops.join(", "),
                thousands(l.params as u64),
                thousands(l.macs),
            ]);
        }
        let widths: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!("net `{}`, phase {}\n", self.name, self.phase);
        for row in &rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c >= 4 {
                    let _ = write!(line, "  {}{cell}", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "total: {} parameters, {} multiply-accumulates per forward pass",
            thousands(self.total_params as u64),
            thousands(self.total_macs)
        );
        let _ = writeln!(out, "outputs: {}", self.outputs.join(", "));
        out
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The phases a net's rules mention, TRAIN first; TEST alone when none do.
pub fn phases_mentioned(net: &NetParameter) -> Vec<Phase> {
    let mut phases = BTreeSet::new();
    for l in &net.layer {
        for r in l.include.iter().chain(&l.exclude) {
            if let Some(p) = r.phase {
                phases.insert(p.number());
            }
        }
    }
    if phases.is_empty() {
        return vec![Phase::Test];
    }
    phases
        .into_iter()
        .filter_map(|n| Phase::from_number(n as i64))
        .collect()
}

fn context(args: &CheckArgs) -> BuildContext {
    BuildContext {
        phase: None,
        data_shapes: args.input_shapes.iter().cloned().collect::<HashMap<_, _>>(),
        external_data: false,
    }
}

/// Checks one net in the given phases (or those its rules mention).
pub fn check_net(
    loaded: &LoadedNet,
    phases: Option<&[Phase]>,
    base: &NetState,
    args: &CheckArgs,
) -> Result<Vec<NetReport>> {
    let phases = phases
        .map(<[Phase]>::to_vec)
        .unwrap_or_else(|| phases_mentioned(&loaded.net));
    let ctx = context(args);
    phases
        .into_iter()
        .map(|phase| {
            let mut state = net_state(&loaded.net, phase, base.level, &base.stage);
            if base.level.is_none() {
                state.level = state.level.or(loaded.net.state().level);
            }
            let graph = build(&loaded.net, &state, &loaded.source, &ctx)?;
            Ok(NetReport::new(&graph))
        })
        .collect()
}

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
    let load = |named: &str| -> Result<LoadedNet> {
        crate::load::load_net(&resolve_net_path(named, solver_file))
    };
    let inline = |net: &NetParameter| -> Result<LoadedNet> {
        let text = crate::text::to_prototxt(net);
        let src =
            crate::error::SourceFile::new(format!("{} (inline net)", solver_file.display()), text);
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

/// Runs `caffers check` and returns what it prints.
pub fn check_to_string(args: &CheckArgs) -> Result<String> {
    let base = NetState {
        phase: None,
        level: args.level,
        stage: args.stages.clone(),
    };
    let reports = match load_any(&args.file)? {
        Loaded::Net(loaded) => {
            let phases = args.phase.map(|p| vec![p]);
            check_net(&loaded, phases.as_deref(), &base, args)?
        }
        Loaded::Solver(solver, _) => {
            crate::solver::validate(&solver)
                .map_err(|m| Error::file(args.file.display().to_string(), m))?;
            let mut reports = Vec::new();
            for (loaded, state) in solver_nets(&solver, &args.file)? {
                if args.phase.is_some_and(|p| Some(p) != state.phase) {
                    continue;
                }
                let mut merged = base.clone();
                merged.level = args.level.or(state.level);
                merged.stage.extend(state.stage.iter().cloned());
                reports.extend(check_net(
                    &loaded,
                    state.phase.as_ref().map(std::slice::from_ref),
                    &merged,
                    args,
                )?);
            }
            reports
        }
    };
    let mut out = String::new();
    for r in &reports {
        if args.json {
            out.push_str(&serde_json::to_string(r).expect("reports serialize"));
            out.push('\n');
        } else {
            out.push_str(&r.table());
            out.push('\n');
        }
    }
    Ok(out)
}

pub fn run(args: &CheckArgs) -> Result<()> {
    let out = check_to_string(args)?;
    print!("{out}");
    Ok(())
}
