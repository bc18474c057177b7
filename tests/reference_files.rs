//! Acceptance tests over Caffe's own reference files in ../shared/caffe-reference:
//! every file parses (net or solver, decided by content), prints back to text that
//! parses to the same value, and every net builds in each phase (and stage) it
//! declares once its data layers are shaped. `caffers check --json` gives the
//! parameter totals the real Caffe reports.
//!
//! Most nets use layer types (ReLU, LRN, Softmax, Concat, Dropout, losses, data
//! layers, …) registered outside the front end; the build tests need all of them.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use caffers::error::SourceFile;
use caffers::layers::BuildContext;
use caffers::load::{looks_like_solver, net_from_source, read_text, solver_from_source, LoadedNet};
use caffers::net::filter::phases_mentioned;
use caffers::net::random_inputs::fill_random_inputs;
use caffers::net::{build, net_state};
use caffers::proto::{NetParameter, NetState, Phase, SolverParameter};
use caffers::shape::Shape;
use caffers::solver::nets::solver_nets;

fn reference_dir() -> PathBuf {
    common::shared().join("caffe-reference")
}

/// Every `.prototxt` under the reference folder, sorted.
fn reference_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "prototxt") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&reference_dir(), &mut files);
    files.sort();
    assert_eq!(files.len(), 54, "the reference set has 54 prototxt files");
    files
}

fn rel(path: &Path) -> String {
    path.strip_prefix(reference_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

enum Parsed {
    Net(Box<LoadedNet>),
    Solver(Box<SolverParameter>),
}

fn parse_file(path: &Path) -> Result<Parsed, String> {
    let src = read_text(path).map_err(|e| e.to_string())?;
    let tree = caffers::text::parse(&src).map_err(|e| e.to_string())?;
    if looks_like_solver(&tree) {
        Ok(Parsed::Solver(Box::new(
            solver_from_source(&src).map_err(|e| e.to_string())?,
        )))
    } else {
        Ok(Parsed::Net(Box::new(
            net_from_source(&src).map_err(|e| e.to_string())?,
        )))
    }
}

#[test]
fn every_reference_file_parses_as_a_net_or_a_solver() {
    let mut nets = 0;
    let mut solvers = 0;
    let mut failures = Vec::new();
    for path in reference_files() {
        match parse_file(&path) {
            Ok(Parsed::Net(loaded)) => {
                nets += 1;
                if loaded.net.layer.is_empty() {
                    failures.push(format!("{}: a net without layers", rel(&path)));
                }
            }
            Ok(Parsed::Solver(solver)) => {
                solvers += 1;
                if let Err(e) = caffers::solver::validate(&solver) {
                    failures.push(format!("{}: {e}", rel(&path)));
                }
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        (nets, solvers),
        (29, 25),
        "nets and solvers among the files"
    );
}

/// Deserializes text into `T` the way the loaders do (no upgrade).
fn from_text<T: serde::de::DeserializeOwned>(name: &str, text: String) -> Result<T, String> {
    let src = SourceFile::new(name, text);
    let tree = caffers::text::parse(&src).map_err(|e| e.to_string())?;
    caffers::text::from_message(&src, &tree).map_err(|e| e.to_string())
}

#[test]
fn every_reference_file_prints_back_to_the_same_value() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in reference_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = rel(&path);
        let tree = caffers::text::parse(&SourceFile::new(&name, text.clone())).unwrap();
        if looks_like_solver(&tree) {
            // As written (deprecated solver_type kept) and upgraded.
            let raw: SolverParameter = from_text(&name, text.clone()).unwrap();
            let printed = caffers::text::to_prototxt(&raw);
            match from_text::<SolverParameter>(&name, printed.clone()) {
                Ok(back) if back == raw => checked += 1,
                Ok(_) => {
                    failures.push(format!("{name}: solver differs after printing:\n{printed}"))
                }
                Err(e) => failures.push(format!("{name}: printed solver does not parse: {e}")),
            }
        } else {
            // As written (V1 `layers`, `input` fields kept) …
            let raw: NetParameter = from_text(&name, text.clone()).unwrap();
            let printed = caffers::text::to_prototxt(&raw);
            match from_text::<NetParameter>(&name, printed.clone()) {
                Ok(back) if back == raw => checked += 1,
                Ok(_) => failures.push(format!("{name}: net differs after printing:\n{printed}")),
                Err(e) => failures.push(format!("{name}: printed net does not parse: {e}")),
            }
            // … and upgraded, through the loader.
            let loaded = net_from_source(&SourceFile::new(&name, text)).unwrap();
            let printed = caffers::text::to_prototxt(&loaded.net);
            match net_from_source(&SourceFile::new(&name, printed.clone())) {
                Ok(back) if back.net == loaded.net => checked += 1,
                Ok(_) => failures.push(format!("{name}: upgraded net differs after printing")),
                Err(e) => {
                    failures.push(format!("{name}: printed upgraded net does not parse: {e}"))
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 29 * 2 + 25);
}

/// Shapes for the tops of each file's data layers, as Caffe would read them from
/// the datasets the files name (batch, channels, height, width after cropping).
fn data_shapes(file: &str) -> HashMap<String, Shape> {
    let image = |n: usize, c: usize, hw: usize| {
        HashMap::from([
            ("data".to_string(), vec![n, c, hw, hw]),
            ("label".to_string(), vec![n]),
        ])
    };
    match file {
        f if f.starts_with("examples/cifar10/") => image(100, 3, 32),
        f if f.starts_with("examples/mnist/mnist_autoencoder") => {
            HashMap::from([("data".to_string(), vec![100, 1, 28, 28])])
        }
        f if f.starts_with("examples/mnist/") => image(64, 1, 28),
        f if f.starts_with("examples/siamese/") => HashMap::from([
            ("pair_data".to_string(), vec![64, 2, 28, 28]),
            ("sim".to_string(), vec![64]),
        ]),
        f if f.starts_with("examples/hdf5_classification/") => HashMap::from([
            ("data".to_string(), vec![10, 4]),
            ("label".to_string(), vec![10]),
        ]),
        f if f.starts_with("examples/feature_extraction/") => image(50, 3, 227),
        f if f.starts_with("examples/finetune_pascal_detection/") => image(128, 3, 227),
        f if f.starts_with("models/bvlc_googlenet/") => image(32, 3, 224),
        f if f.starts_with("models/") => image(50, 3, 227),
        _ => HashMap::new(),
    }
}

/// Every state a net declares: each phase its rules mention, and within a phase
/// each set of stages the rules for that phase require (none when they require
/// none). A phase whose layers all need a stage is not built without one.
fn declared_states(net: &NetParameter) -> Vec<NetState> {
    let mut states = Vec::new();
    for phase in phases_mentioned(net) {
        let mut stage_sets: BTreeSet<Vec<String>> = BTreeSet::new();
        for layer in &net.layer {
            for rule in &layer.include {
                if rule.phase.is_none_or(|p| p == phase) && !rule.stage.is_empty() {
                    stage_sets.insert(rule.stage.clone());
                }
            }
        }
        if stage_sets.is_empty() {
            stage_sets.insert(Vec::new());
        }
        for stages in stage_sets {
            states.push(net_state(net, phase, None, &stages));
        }
    }
    states
}

fn shaped_context(file: &str) -> BuildContext {
    BuildContext {
        phase: None,
        data_shapes: data_shapes(file),
        external_data: true,
    }
}

fn describe(state: &NetState) -> String {
    format!("{} {:?}", state.phase(), state.stage)
}

#[test]
fn every_reference_net_builds_in_each_declared_phase_and_stage() {
    let mut built = 0;
    let mut failures = Vec::new();
    for path in reference_files() {
        let name = rel(&path);
        match parse_file(&path).unwrap() {
            Parsed::Net(loaded) => {
                for state in declared_states(&loaded.net) {
                    match build(&loaded.net, &state, &loaded.source, &shaped_context(&name)) {
                        Ok(graph) => {
                            built += 1;
                            assert!(!graph.layers.is_empty(), "{name}");
                        }
                        // Its loss is a Python layer (module `pyloss`): it needs pycaffe,
                        // which caffers does not embed, and says so.
                        Err(e) if name == "examples/pycaffe/linreg.prototxt" => {
                            let e = e.to_string();
                            assert!(e.contains("Python layers are not supported"), "{e}");
                        }
                        Err(e) => failures.push(format!("{name} ({}): {e}", describe(&state))),
                    }
                }
            }
            Parsed::Solver(solver) => {
                // lenet_auto_solver names nets that pycaffe writes (lenet_auto_*.prototxt);
                // they are not part of the reference set.
                let nets = match solver_nets(&solver, &path) {
                    Ok(nets) => nets,
                    Err(e) if name.ends_with("lenet_auto_solver.prototxt") => {
                        assert!(e.to_string().contains("lenet_auto_train.prototxt"), "{e}");
                        continue;
                    }
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                for (loaded, mut state) in nets {
                    let declared = loaded.net.state();
                    state.stage.extend(declared.stage);
                    match build(&loaded.net, &state, &loaded.source, &shaped_context(&name)) {
                        Ok(_) => built += 1,
                        Err(e) => failures.push(format!("{name} ({}): {e}", describe(&state))),
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(built >= 80, "built {built} nets");
}

/// The data shapes of `data_shapes` with the batch cut to `n`, so that the ImageNet
/// nets run forward and backward in a test's time.
fn small_batch_shapes(file: &str, n: usize) -> HashMap<String, Shape> {
    data_shapes(file)
        .into_iter()
        .map(|(k, mut s)| {
            s[0] = s[0].min(n);
            (k, s)
        })
        .collect()
}

#[test]
fn every_reference_net_runs_forward_and_backward_on_random_input() {
    let mut ran = Vec::new();
    let mut failures = Vec::new();
    for path in reference_files() {
        let name = rel(&path);
        let Parsed::Net(loaded) = parse_file(&path).unwrap() else {
            continue;
        };
        if name == "examples/pycaffe/linreg.prototxt" {
            continue; // a Python loss layer; see the build test above
        }
        let batch = if name.starts_with("models/")
            || name.contains("imagenet")
            || name.contains("pascal")
        {
            1
        } else {
            8
        };
        for state in declared_states(&loaded.net) {
            let ctx = BuildContext {
                phase: None,
                data_shapes: small_batch_shapes(&name, batch),
                external_data: true,
            };
            let outcome = build(&loaded.net, &state, &loaded.source, &ctx)
                .and_then(|graph| caffers::net::Net::new(graph, true, 3))
                .and_then(|mut net| {
                    fill_random_inputs(&mut net, 5);
                    let loss = net.forward()?;
                    net.backward()?;
                    Ok(loss)
                });
            match outcome {
                Ok(loss) if loss.is_finite() => ran.push(format!("{name} ({})", describe(&state))),
                Ok(loss) => failures.push(format!("{name} ({}): loss {loss}", describe(&state))),
                Err(e) => failures.push(format!("{name} ({}): {e}", describe(&state))),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for must in [
        "models/bvlc_googlenet/deploy.prototxt",
        "models/bvlc_alexnet/deploy.prototxt",
    ] {
        assert!(
            ran.iter().any(|r| r.starts_with(must)),
            "{must} did not run"
        );
    }
    assert!(ran.len() >= 43, "ran {} nets", ran.len());
}

/// Runs the `caffers` binary in the reference folder.
fn caffers(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .args(args)
        .current_dir(reference_dir())
        .output()
        .expect("caffers runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_json(file: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["check", file, "--json"];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = caffers(&args);
    assert!(ok, "caffers check {file} failed: {stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}: {e}: {l}")))
        .collect()
}

fn total_params(file: &str) -> u64 {
    let reports = check_json(file, &[]);
    assert_eq!(reports.len(), 1, "{file}: one phase");
    reports[0]["total_params"].as_u64().expect("a number")
}

#[test]
fn lenet_deploy_has_431_080_params() {
    assert_eq!(total_params("examples/mnist/lenet.prototxt"), 431_080);
}

#[test]
fn cifar10_quick_has_145_578_params() {
    assert_eq!(
        total_params("examples/cifar10/cifar10_quick.prototxt"),
        145_578
    );
    let r = &check_json("examples/cifar10/cifar10_quick.prototxt", &[])[0];
    let ip1 = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "ip1")
        .unwrap();
    // Pooling rounds up: 64 channels of 4×4 reach ip1.
    assert_eq!(ip1["params"], 1024 * 64 + 64);
}

#[test]
fn cifar10_full_has_89_578_params() {
    assert_eq!(
        total_params("examples/cifar10/cifar10_full.prototxt"),
        89_578
    );
}

#[test]
fn alexnet_and_caffenet_deploy_have_60_965_224_params() {
    assert_eq!(
        total_params("models/bvlc_alexnet/deploy.prototxt"),
        60_965_224
    );
    assert_eq!(
        total_params("models/bvlc_reference_caffenet/deploy.prototxt"),
        60_965_224
    );
}

#[test]
fn googlenet_deploy_has_6_998_552_params_and_prob_10x1000() {
    let file = "models/bvlc_googlenet/deploy.prototxt";
    assert_eq!(total_params(file), 6_998_552);
    let r = &check_json(file, &[])[0];
    assert_eq!(r["outputs"], serde_json::json!(["prob"]));
    let prob = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["tops"].as_array().unwrap().iter())
        .find(|t| t["name"] == "prob")
        .unwrap();
    assert_eq!(prob["shape"], serde_json::json!([10, 1000]));
}

/// The JSON form the issue specifies, one object per phase per line.
fn assert_report_shape(r: &serde_json::Value, phase: &str) {
    let obj = r.as_object().expect("an object");
    for key in ["name", "phase", "layers", "total_params", "outputs"] {
        assert!(obj.contains_key(key), "missing `{key}` in {r}");
    }
    assert_eq!(r["phase"], phase);
    let layers = r["layers"].as_array().unwrap();
    assert!(!layers.is_empty());
    let mut sum = 0;
    for l in layers {
        for key in ["name", "type", "bottoms", "tops", "params"] {
            assert!(l.get(key).is_some(), "missing `{key}` in {l}");
        }
        assert!(l["bottoms"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b.is_string()));
        for t in l["tops"].as_array().unwrap() {
            assert!(t["name"].is_string(), "{t}");
            assert!(
                t["shape"].as_array().unwrap().iter().all(|d| d.is_u64()),
                "{t}"
            );
        }
        sum += l["params"].as_u64().unwrap();
    }
    assert_eq!(r["total_params"].as_u64().unwrap(), sum);
    assert!(r["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o.is_string()));
}

#[test]
fn check_json_gives_one_object_per_declared_phase() {
    let reports = check_json(
        "examples/mnist/lenet_train_test.prototxt",
        &[
            "--input-shape",
            "data=64,1,28,28",
            "--input-shape",
            "label=64",
        ],
    );
    assert_eq!(reports.len(), 2, "TRAIN and TEST");
    assert_report_shape(&reports[0], "TRAIN");
    assert_report_shape(&reports[1], "TEST");
    // Same weights in both phases; TEST adds only the accuracy output.
    assert_eq!(reports[0]["total_params"], 431_080);
    assert_eq!(reports[1]["total_params"], 431_080);
    assert_eq!(reports[0]["outputs"], serde_json::json!(["loss"]));
    assert_eq!(
        reports[1]["outputs"],
        serde_json::json!(["accuracy", "loss"])
    );
}

/// The JSON shape with layer types the front end itself registers (Input,
/// Convolution, Pooling, InnerProduct), so it is checked on every branch.
#[test]
fn check_json_shape_with_front_end_layers() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join("two_phase.prototxt");
    std::fs::write(
        &file,
        r#"name: "two_phase"
layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 9 dim: 9 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 }
        include { phase: TRAIN } }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip"
        inner_product_param { num_output: 5 } include { phase: TEST } }
"#,
    )
    .unwrap();
    let reports = check_json(file.to_str().unwrap(), &[]);
    assert_eq!(reports.len(), 2);
    assert_report_shape(&reports[0], "TRAIN");
    assert_report_shape(&reports[1], "TEST");
    // conv: 4·3·3·3 + 4 = 112; ip: 5·(4·7·7) + 5 = 985.
    assert_eq!(reports[0]["total_params"], 112);
    assert_eq!(reports[1]["total_params"], 112 + 985);
    // Pooling rounds up: 7×7 → 4×4.
    assert_eq!(reports[0]["outputs"], serde_json::json!(["pool"]));
    assert_eq!(
        reports[0]["layers"][2]["tops"][0]["shape"],
        serde_json::json!([2, 4, 4, 4])
    );
    let (ok, one, _) = caffers(&["check", file.to_str().unwrap(), "--json", "--phase", "test"]);
    assert!(ok);
    assert_eq!(one.lines().count(), 1);
}

#[test]
fn autoencoder_in_test_without_a_stage_names_flatdata_data_and_the_stages() {
    let (ok, _, stderr) = caffers(&[
        "check",
        "examples/mnist/mnist_autoencoder.prototxt",
        "--phase",
        "test",
        "--input-shape",
        "data=100,1,28,28",
    ]);
    assert!(!ok);
    assert!(stderr.contains("layer `flatdata`"), "{stderr}");
    assert!(stderr.contains("`data`"), "{stderr}");
    assert!(stderr.contains("test-on-train"), "{stderr}");
    assert!(stderr.contains("test-on-test"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The library says the same, for the net the file declares.
    let loaded =
        caffers::load::load_net(&reference_dir().join("examples/mnist/mnist_autoencoder.prototxt"))
            .unwrap();
    let state = net_state(&loaded.net, Phase::Test, None, &[]);
    let e = build(
        &loaded.net,
        &state,
        &loaded.source,
        &shaped_context("examples/mnist/mnist_autoencoder.prototxt"),
    )
    .err()
    .expect("no layer produces `data` in TEST without a stage")
    .to_string();
    assert!(e.starts_with("layer `flatdata`"), "{e}");
    assert!(
        e.contains(r#"included only with phase: TEST stage: "test-on-train""#),
        "{e}"
    );
}

/// Caffe gives a loss layer without tops an anonymous one; the pascal finetuning
/// net's SoftmaxWithLoss has none.
#[test]
fn a_loss_layer_without_tops_gets_an_anonymous_one() {
    let file = "examples/finetune_pascal_detection/pascal_finetune_trainval_test.prototxt";
    let loaded = caffers::load::load_net(&reference_dir().join(file)).unwrap();
    let state = net_state(&loaded.net, Phase::Train, None, &[]);
    let graph = build(&loaded.net, &state, &loaded.source, &shaped_context(file))
        .unwrap_or_else(|e| panic!("{e}"));
    let loss = graph.layers.iter().find(|l| l.name() == "loss").unwrap();
    assert_eq!(loss.tops.len(), 1);
    assert_eq!(loss.loss_weights, vec![1.0]);
    assert_eq!(graph.blobs[loss.tops[0]].shape, Vec::<usize>::new());
    // Not a net output.
    assert!(graph
        .outputs
        .iter()
        .all(|&b| graph.blobs[b].name != "(automatic)"));
}
