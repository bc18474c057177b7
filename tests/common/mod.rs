//! Shared helpers for integration tests: paths into ../shared, and running a
//! Caffe fixture case (inputs, weights, every blob and gradient) through caffers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use caffers::engine::RunNet;
use caffers::io::npy::{read_npz, Array};
use caffers::layers::BuildContext;
use caffers::load::load_net;
use caffers::net::{build, net_state, Net};
use caffers::proto::Phase;

/// `../shared` beside the repository.
pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// The mixed bound the fixtures README suggests: |a − b| ≤ ABS + REL·|b|.
pub const ABS_TOL: f32 = 1e-5;
pub const REL_TOL: f32 = 1e-4;

/// Largest violation of the bound, as (index, ours, caffe), or None when within.
pub fn compare(ours: &[f32], caffe: &[f32], abs: f32, rel: f32) -> Option<(usize, f32, f32)> {
    let mut worst: Option<(usize, f32, f32, f32)> = None;
    for (i, (&a, &b)) in ours.iter().zip(caffe).enumerate() {
        let excess = (a - b).abs() - (abs + rel * b.abs());
        if (excess > 0.0 || a.is_nan() != b.is_nan()) && worst.is_none_or(|w| excess > w.3) {
            worst = Some((i, a, b, excess));
        }
    }
    worst.map(|(i, a, b, _)| (i, a, b))
}

/// A fixture case's net built for `phase`, with Caffe's weights and inputs set,
/// and its arrays; the problems list names weights that do not fit.
pub fn load_case(
    folder: &str,
    case: &str,
    phase: Phase,
) -> (Net, BTreeMap<String, Array>, Vec<String>) {
    let dir = shared().join("fixtures").join(folder);
    let loaded = load_net(&dir.join(format!("{case}.prototxt"))).unwrap_or_else(|e| panic!("{e}"));
    let arrays: BTreeMap<String, Array> =
        read_npz(&dir.join(format!("{case}.npz"))).unwrap_or_else(|e| panic!("{e}"));
    let state = net_state(&loaded.net, phase, None, &[]);
    let graph = build(
        &loaded.net,
        &state,
        &loaded.source,
        &BuildContext::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut net = Net::new(graph, loaded.net.force_backward(), 1).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();

    // Weights, as Caffe had them before the pass.
    for (li, node) in net.graph.layers.iter().enumerate() {
        for (k, &p) in net.layer_params[li].iter().enumerate() {
            let key = format!("param.{}.{k}", node.name());
            match arrays.get(&key) {
                Some(a) if a.data.len() == net.params[p].count() => {
                    net.params[p].data.copy_from_slice(&a.data)
                }
                Some(a) => problems.push(format!(
                    "{key}: caffe has {} values, we have {}",
                    a.data.len(),
                    net.params[p].count()
                )),
                None => problems.push(format!("{key}: missing from the fixture")),
            }
        }
    }
    for (key, a) in &arrays {
        if let Some(name) = key.strip_prefix("input.") {
            net.set_input(name, &a.data)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    (net, arrays, problems)
}

/// Runs one fixture case (folder `layers` or `nets`) on the native engine and
/// returns every mismatch.
pub fn run_fixture(folder: &str, case: &str, phase: Phase, abs: f32, rel: f32) -> Vec<String> {
    run_fixture_on(folder, case, phase, abs, rel, None)
}

/// Runs one fixture case on the native engine (`device` None) or the candle
/// engine on `device`, through the engine-neutral [`RunNet`], and returns every
/// mismatch.
pub fn run_fixture_on(
    folder: &str,
    case: &str,
    phase: Phase,
    abs: f32,
    rel: f32,
    device: Option<&candle_core::Device>,
) -> Vec<String> {
    let (net, arrays, mut problems) = load_case(folder, case, phase);
    if !problems.is_empty() {
        return problems;
    }
    let mut net = RunNet::new(net, device).unwrap_or_else(|e| panic!("{case}: {e}"));
    net.record_blob_diffs();
    net.forward()
        .unwrap_or_else(|e| panic!("{case}: forward: {e}"));
    let check = |what: &str, ours: Option<Vec<f32>>, caffe: &Array, problems: &mut Vec<String>| {
        match ours {
            None => problems.push(format!("{what}: no such blob in our net")),
            Some(o) if o.len() != caffe.data.len() => problems.push(format!(
                "{what}: {} values, caffe has {}",
                o.len(),
                caffe.data.len()
            )),
            Some(o) => {
                if let Some((i, a, b)) = compare(&o, &caffe.data, abs, rel) {
                    problems.push(format!("{what}[{i}]: ours {a}, caffe {b}"));
                }
            }
        }
    };
    // `LAYER.I` → the index of that parameter blob in the net.
    let param = |net: &RunNet, rest: &str| -> usize {
        let (layer, k) = rest.rsplit_once('.').expect("LAYER.I");
        let host = net.host();
        let li = host
            .graph
            .layers
            .iter()
            .position(|l| l.name() == layer)
            .expect("layer exists");
        host.layer_params[li][k.parse::<usize>().expect("index")]
    };
    for (key, a) in &arrays {
        // Caffe's automatic Split layers' blobs have no counterpart here.
        if key.contains("_split_") {
            continue;
        }
        if let Some(name) = key.strip_prefix("data.") {
            check(key, net.blob_data(name).unwrap(), a, &mut problems);
        }
        if let Some(rest) = key.strip_prefix("param_after_forward.") {
            let p = param(&net, rest);
            check(key, Some(net.param_data(p).unwrap()), a, &mut problems);
        }
    }
    if arrays.keys().any(|k| k.starts_with("diff.")) {
        for (key, a) in &arrays {
            if let Some(name) = key.strip_prefix("topdiff.") {
                net.set_top_diff(name, &a.data).unwrap();
            }
        }
        net.clear_param_diffs();
        net.backward()
            .unwrap_or_else(|e| panic!("{case}: backward: {e}"));
        for (key, a) in &arrays {
            if key.contains("_split_") {
                continue;
            }
            if let Some(name) = key.strip_prefix("diff.") {
                // Blobs nobody differentiates (labels, data under no gradient) are
                // left as Caffe left them: zero.
                check(key, net.blob_diff(name).unwrap(), a, &mut problems);
            }
            if let Some(rest) = key.strip_prefix("pdiff.") {
                let p = param(&net, rest);
                check(key, Some(net.param_diff(p).unwrap()), a, &mut problems);
            }
        }
    }
    problems
}

/// The phase a layer case runs in, from fixtures/layers/index.json.
pub fn case_phase(case: &str) -> Phase {
    let text =
        std::fs::read_to_string(shared().join("fixtures/layers/index.json")).expect("index.json");
    let index: serde_json::Value = serde_json::from_str(&text).expect("index.json is JSON");
    let entry = index
        .as_array()
        .expect("a list")
        .iter()
        .find(|e| e["case"] == case)
        .unwrap_or_else(|| panic!("no case {case}"));
    if entry["phase"] == "TRAIN" {
        Phase::Train
    } else {
        Phase::Test
    }
}

/// One solver case of ../shared/fixtures/solvers: its solver, its arrays (inputs,
/// parameters after each step, losses) and the TRAIN net with Caffe's initial
/// parameters, ready for either engine's solver.
pub struct SolverCase {
    pub param: caffers::proto::SolverParameter,
    pub arrays: BTreeMap<String, Array>,
    pub net: Net,
}

pub fn solver_case(name: &str) -> SolverCase {
    use caffers::net::NetOptions;
    use caffers::proto::NetState;

    let dir = shared().join("fixtures/solvers");
    let solver_file = dir.join(format!("{name}_solver.prototxt"));
    let param = caffers::load::load_solver(&solver_file).unwrap_or_else(|e| panic!("{e}"));
    let arrays = read_npz(&dir.join(format!("{name}.npz"))).unwrap_or_else(|e| panic!("{e}"));
    let net_path = caffers::solver::nets::resolve_net_path(param.net(), &solver_file);
    let state = NetState {
        phase: Some(Phase::Train),
        ..Default::default()
    };
    let mut net =
        Net::from_file(&net_path, &state, &NetOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for (li, node) in net.graph.layers.iter().enumerate() {
        for (k, &p) in net.layer_params[li].iter().enumerate() {
            let a = &arrays[&format!("param.{}.{k}", node.name())];
            net.params[p].data.copy_from_slice(&a.data);
        }
    }
    SolverCase { param, arrays, net }
}
