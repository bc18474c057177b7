//! The candle engine against BVLC Caffe: every layer case of
//! ../shared/fixtures/layers whose layer types all have a candle path, and the
//! four whole nets, on candle's CPU device, with the native engine's bound
//! |ours − caffe| ≤ 1e-5 + 1e-4·|caffe|; and the list of types without a candle
//! path must be the README's.

mod common;

use std::collections::BTreeMap;

use caffers::engine::{registry, CandleNet};
use caffers::proto::Phase;
use candle_core::Device;
use common::{case_phase, compare, shared, ABS_TOL, REL_TOL};

/// Runs one fixture case on the candle engine (CPU device) and returns every mismatch.
fn run_candle(folder: &str, case: &str, phase: Phase) -> Vec<String> {
    common::run_fixture_on(folder, case, phase, ABS_TOL, REL_TOL, Some(&Device::Cpu))
}

/// The layer types a case's prototxt uses.
fn case_types(case: &str) -> Vec<String> {
    let path = shared().join(format!("fixtures/layers/{case}.prototxt"));
    let loaded = caffers::load::load_net(&path).unwrap_or_else(|e| panic!("{e}"));
    loaded
        .net
        .layer
        .iter()
        .map(|l| l.r#type().to_string())
        .collect()
}

fn runs_on_candle(t: &str) -> bool {
    registry::op(t).is_some() || registry::runs_on_host(t)
}

#[test]
fn every_layer_case_with_a_candle_path_matches_caffe() {
    let text = std::fs::read_to_string(shared().join("fixtures/layers/index.json")).unwrap();
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut ran, mut skipped) = (0, Vec::new());
    for entry in index.as_array().unwrap() {
        let case = entry["case"].as_str().unwrap();
        if !case_types(case).iter().all(|t| runs_on_candle(t)) {
            skipped.push(case.to_string());
            continue;
        }
        ran += 1;
        let problems = run_candle("layers", case, case_phase(case));
        if !problems.is_empty() {
            failures.insert(case.to_string(), problems);
        }
    }
    println!("{ran} cases ran on the candle engine; no candle path yet: {skipped:?}");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ from Caffe:\n{:#?}",
        failures.len(),
        failures
    );
    assert!(ran >= 60, "only {ran} cases have a candle path");
}

fn check_net(case: &str) {
    let problems = run_candle("nets", case, Phase::Train);
    assert!(
        problems.is_empty(),
        "{case}: {} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn lenet() {
    check_net("lenet");
}

#[test]
fn cifar10_quick() {
    check_net("cifar10_quick");
}

#[test]
fn cifar10_full() {
    check_net("cifar10_full");
}

#[test]
fn cifar10_full_sigmoid_bn() {
    check_net("cifar10_full_sigmoid_bn");
}

/// The README's "no candle path yet" line lists exactly the known types the
/// candle engine cannot run, so adding a path without updating the docs fails,
/// and the other way round.
#[test]
fn the_readme_lists_the_types_without_a_candle_path() {
    let missing = registry::missing_types();
    println!("no candle path yet: {missing:?}");
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let marker = "No candle path yet:";
    let line = readme
        .lines()
        .find(|l| l.starts_with(marker))
        .expect("README has a `No candle path yet:` line");
    let mut listed: Vec<&str> = line[marker.len()..]
        .split(',')
        .map(|t| t.trim().trim_end_matches('.').trim_matches('`'))
        .filter(|t| !t.is_empty())
        .collect();
    listed.sort();
    let mut missing_sorted = missing.clone();
    missing_sorted.sort();
    assert_eq!(listed, missing_sorted);
}

/// The ops are a device path: none reads tensors back to the host or calls the
/// native kernels.
#[test]
fn ops_never_copy_to_the_host_or_call_native_kernels() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine/ops");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for banned in [
            "to_vec",
            "to_scalar",
            "kernels::",
            "storage_and_layout",
            "as_slice::<",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", path.display());
        }
        files += 1;
    }
    assert!(files >= 10, "only {files} op files");
}

/// One solver fixture (../shared/fixtures/solvers) on the candle engine: the
/// parameters after each of 5 steps and the losses, within the same bound.
fn check_solver(name: &str) {
    use caffers::engine::CandleSolver;
    use caffers::solver::validate;

    let common::SolverCase { param, arrays, net } = common::solver_case(name);
    let rules = validate(&param).unwrap_or_else(|e| panic!("{e}"));
    let net = CandleNet::from_net(net, &Device::Cpu).unwrap_or_else(|e| panic!("{e}"));
    let mut solver = CandleSolver::new(param, rules, net).unwrap_or_else(|e| panic!("{e}"));
    let data = arrays["input.data"].data.clone();
    let label = arrays["input.label"].data.clone();
    let mut feed = |net: &mut CandleNet| {
        net.set_input("data", &data)?;
        net.set_input("label", &label)
    };
    let mut problems = Vec::new();
    for k in 1..=5 {
        let loss = solver
            .train_iteration(&mut feed)
            .unwrap_or_else(|e| panic!("{e}"));
        let caffe_loss = arrays[&format!("loss.{k}")].data[0];
        if compare(&[loss], &[caffe_loss], ABS_TOL, REL_TOL).is_some() {
            problems.push(format!("loss.{k}: ours {loss}, caffe {caffe_loss}"));
        }
        let host = &solver.net.net;
        for (li, node) in host.graph.layers.iter().enumerate() {
            for (i, &p) in host.layer_params[li].iter().enumerate() {
                let key = format!("param.{}.{i}.after_{k}", node.name());
                let ours = solver.net.param_data(p).unwrap();
                if let Some((j, a, b)) = compare(&ours, &arrays[&key].data, ABS_TOL, REL_TOL) {
                    problems.push(format!("{key}[{j}]: ours {a}, caffe {b}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{name}: {} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

macro_rules! solver_cases {
    ($($name:ident),* $(,)?) => { mod solvers { $( #[test] fn $name() { super::check_solver(stringify!($name)); } )* } };
}

solver_cases! {
    sgd_fixed, sgd_step, sgd_exp, sgd_inv, sgd_multistep, sgd_poly, sgd_sigmoid, sgd_l1, sgd_clip,
    sgd_itersize2, nesterov, adagrad, rmsprop, adadelta, adam,
}

/// A net from prototxt text in phase TRAIN, parameters filled with seed 3.
fn text_net(text: &str) -> caffers::net::Net {
    use caffers::error::SourceFile;
    use caffers::net::{Net, NetOptions};
    use caffers::proto::NetState;
    let loaded = caffers::load::net_from_source(&SourceFile::new("t", text))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = NetState {
        phase: Some(Phase::Train),
        ..Default::default()
    };
    let options = NetOptions {
        seed: 3,
        ..Default::default()
    };
    Net::from_loaded(&loaded, &state, &options).unwrap_or_else(|e| panic!("{e}"))
}

/// Types with no Caffe fixture (Embed, BatchReindex, MultinomialLogisticLoss)
/// against the native engine: every blob, blob gradient and parameter gradient.
#[test]
fn layers_without_fixtures_match_the_native_engine() {
    let text = r#"force_backward: true
        layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 4 dim: 3 } } }
        layer { name: "ids" type: "Input" top: "ids" input_param { shape { dim: 4 } } }
        layer { name: "order" type: "Input" top: "order" input_param { shape { dim: 4 } } }
        layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 4 } } }
        layer { name: "e" type: "Embed" bottom: "ids" top: "e"
                embed_param { num_output: 3 input_dim: 5 weight_filler { type: "gaussian" std: 0.5 }
                              bias_filler { type: "gaussian" std: 0.5 } } }
        layer { name: "r" type: "BatchReindex" bottom: "x" bottom: "order" top: "r" }
        layer { name: "sum" type: "Eltwise" bottom: "e" bottom: "r" top: "s" }
        layer { name: "p" type: "Softmax" bottom: "s" top: "p" }
        layer { name: "loss" type: "MultinomialLogisticLoss" bottom: "p" bottom: "label" top: "loss" }"#;
    let inputs: [(&str, Vec<f32>); 4] = [
        (
            "x",
            (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect(),
        ),
        ("ids", vec![4.0, 0.0, 2.0, 4.0]),
        ("order", vec![2.0, 2.0, 0.0, 3.0]),
        ("label", vec![1.0, 0.0, 2.0, 2.0]),
    ];
    let mut native = text_net(text);
    let mut candle =
        CandleNet::from_net(text_net(text), &Device::Cpu).unwrap_or_else(|e| panic!("{e}"));
    candle.record_blob_diffs(true);
    for (name, v) in &inputs {
        native.set_input(name, v).unwrap();
        candle.set_input(name, v).unwrap();
    }
    let (a, b) = (native.forward().unwrap(), candle.forward().unwrap());
    assert!(
        compare(&[b], &[a], ABS_TOL, REL_TOL).is_none(),
        "loss: candle {b}, native {a}"
    );
    native.clear_param_diffs();
    native.backward().unwrap();
    candle.backward().unwrap();
    let mut problems = Vec::new();
    for blob in ["e", "r", "s", "p", "x"] {
        let ours = candle.blob_data(blob).unwrap().unwrap();
        if let Some(w) = compare(&ours, native.blob_data(blob).unwrap(), ABS_TOL, REL_TOL) {
            problems.push(format!("data.{blob}: {w:?}"));
        }
        let ours = candle.blob_diff(blob).unwrap().unwrap();
        if let Some(w) = compare(&ours, native.blob_diff(blob).unwrap(), ABS_TOL, REL_TOL) {
            problems.push(format!("diff.{blob}: {w:?}"));
        }
    }
    for p in 0..native.params.len() {
        let ours = candle.param_diff(p).unwrap();
        if let Some(w) = compare(&ours, &native.params[p].diff, ABS_TOL, REL_TOL) {
            problems.push(format!("pdiff {p}: {w:?}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Median (no Caffe fixture: a caffers layer) against the native layer: padded
/// windows with odd and even in-bounds counts, forward and the gradient routed
/// to each median (summed where windows overlap). Distinct values, so the
/// chosen element is the same whatever order a sort gives equal ones.
#[test]
fn median_matches_the_native_layer() {
    let text = r#"force_backward: true
        layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 2 dim: 7 dim: 6 } } }
        layer { name: "odd" type: "Median" bottom: "x" top: "odd"
                median_param { kernel_size: 3 stride: 2 pad: 1 } }
        layer { name: "even" type: "Median" bottom: "x" top: "even"
                median_param { kernel_h: 2 kernel_w: 3 stride: 1 } }
        layer { name: "l1" type: "Reduction" bottom: "odd" top: "l1"
                reduction_param { operation: SUMSQ } loss_weight: 1 }
        layer { name: "l2" type: "Reduction" bottom: "even" top: "l2"
                reduction_param { operation: SUMSQ } loss_weight: 0.5 }"#;
    // 173 is prime and above the 168 values: all distinct.
    let x: Vec<f32> = (0..168)
        .map(|i| ((i * 37 % 173) as f32 - 86.0) / 40.0)
        .collect();
    let mut native = text_net(text);
    let mut candle =
        CandleNet::from_net(text_net(text), &Device::Cpu).unwrap_or_else(|e| panic!("{e}"));
    candle.record_blob_diffs(true);
    native.set_input("x", &x).unwrap();
    candle.set_input("x", &x).unwrap();
    let (a, b) = (native.forward().unwrap(), candle.forward().unwrap());
    assert!(
        compare(&[b], &[a], ABS_TOL, REL_TOL).is_none(),
        "loss: candle {b}, native {a}"
    );
    native.clear_param_diffs();
    native.backward().unwrap();
    candle.backward().unwrap();
    let mut problems = Vec::new();
    for blob in ["odd", "even", "x"] {
        let ours = candle.blob_data(blob).unwrap().unwrap();
        if let Some(w) = compare(&ours, native.blob_data(blob).unwrap(), ABS_TOL, REL_TOL) {
            problems.push(format!("data.{blob}: {w:?}"));
        }
        let ours = candle.blob_diff(blob).unwrap().unwrap();
        if let Some(w) = compare(&ours, native.blob_diff(blob).unwrap(), ABS_TOL, REL_TOL) {
            problems.push(format!("diff.{blob}: {w:?}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
