//! The nets and solvers we ship in nets/ and solvers/: every file parses, every
//! solver validates and names a net that exists, and every net builds in each
//! phase with the parameter totals of the published models.
//!
//! Two ways to the totals: `param_totals_through_the_parameter_layers` builds
//! the nets whose only layers with parameters are Convolution and InnerProduct
//! with their parameter-free, shape-preserving layers left out (so it depends on
//! the fewest layer types); the `builds_*` tests build every net whole, and the
//! `*_weights_fit_deploy` tests check that the weights a training net learns load
//! into its deploy net.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use caffers::layers::BuildContext;
use caffers::load::{load_net, load_solver};
use caffers::net::{build, net_state, NetGraph};
use caffers::proto::{NetParameter, Phase, SolverMode};
use caffers::shape::Shape;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a folder with one of the given extensions, by name.
fn files(folder: &str, exts: &[&str]) -> BTreeSet<String> {
    std::fs::read_dir(root().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// One shipped net: its file stem, the learnable total (every element of every
/// parameter blob, as a .caffemodel stores them), and the shapes of its data
/// tops per phase (deploy nets shape themselves with an Input layer).
struct Shipped {
    file: &'static str,
    params: usize,
    /// Image shape (C, H, W) and the TRAIN and TEST batch sizes of the Data layers.
    data: Option<([usize; 3], usize, usize)>,
    /// The net's prediction and its shape, for deploy nets.
    output: Option<(&'static str, &'static [usize])>,
}

// BVLC totals: LeNet 431,080; cifar10_quick 145,578; cifar10_full 89,578;
// AlexNet and CaffeNet 60,965,224 (the same layers, ordered differently);
// GoogLeNet 6,998,552 deployed, 13,378,280 while training (the two auxiliary
// classifiers, 6,379,728 parameters, are dropped at deployment).
// MobileNet v1: 4,253,864 as commonly quoted (convolutions, classifier, and four
// values per BatchNorm channel: γ, β, mean, variance), plus Caffe's third
// BatchNorm blob, the one-element moving-average factor, in each of the 27
// BatchNorm layers: 4,253,891.
const GOOGLENET_AUX: usize = 6_379_728;
const MOBILENET_BN_LAYERS: usize = 27;

const SHIPPED: &[Shipped] = &[
    Shipped {
        file: "lenet_train_test",
        params: 431_080,
        data: Some(([1, 28, 28], 64, 100)),
        output: None,
    },
    Shipped {
        file: "lenet_deploy",
        params: 431_080,
        data: None,
        output: Some(("prob", &[64, 10])),
    },
    Shipped {
        file: "cifar10_quick_train_test",
        params: 145_578,
        data: Some(([3, 32, 32], 100, 100)),
        output: None,
    },
    Shipped {
        file: "cifar10_quick_deploy",
        params: 145_578,
        data: None,
        output: Some(("prob", &[1, 10])),
    },
    Shipped {
        file: "cifar10_full_train_test",
        params: 89_578,
        data: Some(([3, 32, 32], 100, 100)),
        output: None,
    },
    Shipped {
        file: "cifar10_full_deploy",
        params: 89_578,
        data: None,
        output: Some(("prob", &[1, 10])),
    },
    Shipped {
        file: "alexnet_train_val",
        params: 60_965_224,
        data: Some(([3, 227, 227], 256, 50)),
        output: None,
    },
    Shipped {
        file: "alexnet_deploy",
        params: 60_965_224,
        data: None,
        output: Some(("prob", &[10, 1000])),
    },
    Shipped {
        file: "caffenet_train_val",
        params: 60_965_224,
        data: Some(([3, 227, 227], 256, 50)),
        output: None,
    },
    Shipped {
        file: "caffenet_deploy",
        params: 60_965_224,
        data: None,
        output: Some(("prob", &[10, 1000])),
    },
    Shipped {
        file: "googlenet_train_val",
        params: 6_998_552 + GOOGLENET_AUX,
        data: Some(([3, 224, 224], 32, 50)),
        output: None,
    },
    Shipped {
        file: "googlenet_deploy",
        params: 6_998_552,
        data: None,
        output: Some(("prob", &[10, 1000])),
    },
    Shipped {
        file: "mobilenet_v1_train_val",
        params: 4_253_864 + MOBILENET_BN_LAYERS,
        data: Some(([3, 224, 224], 64, 50)),
        output: None,
    },
    Shipped {
        file: "mobilenet_v1_deploy",
        params: 4_253_864 + MOBILENET_BN_LAYERS,
        data: None,
        output: Some(("prob", &[1, 1000, 1, 1])),
    },
    Shipped {
        file: "mobilenet_v1_075_train_val",
        params: 2_602_003,
        data: Some(([3, 224, 224], 64, 50)),
        output: None,
    },
    Shipped {
        file: "mobilenet_v1_075_deploy",
        params: 2_602_003,
        data: None,
        output: Some(("prob", &[1, 1000, 1, 1])),
    },
    Shipped {
        file: "mobilenet_v1_050_train_val",
        params: 1_342_563,
        data: Some(([3, 224, 224], 64, 50)),
        output: None,
    },
    Shipped {
        file: "mobilenet_v1_050_deploy",
        params: 1_342_563,
        data: None,
        output: Some(("prob", &[1, 1000, 1, 1])),
    },
    Shipped {
        file: "mobilenet_v1_025_train_val",
        params: 475_571,
        data: Some(([3, 224, 224], 64, 50)),
        output: None,
    },
    Shipped {
        file: "mobilenet_v1_025_deploy",
        params: 475_571,
        data: None,
        output: Some(("prob", &[1, 1000, 1, 1])),
    },
];

fn shipped(file: &str) -> &'static Shipped {
    SHIPPED
        .iter()
        .find(|s| s.file == file)
        .unwrap_or_else(|| panic!("{file} is not in SHIPPED"))
}

fn net_path(stem: &str) -> PathBuf {
    root().join("nets").join(format!("{stem}.prototxt"))
}

fn load(stem: &str) -> caffers::load::LoadedNet {
    load_net(&net_path(stem)).unwrap_or_else(|e| panic!("{e}"))
}

/// The phases a net is built in: deploy nets in TEST only.
fn phases(s: &Shipped) -> &'static [Phase] {
    if s.data.is_some() {
        &[Phase::Train, Phase::Test]
    } else {
        &[Phase::Test]
    }
}

/// Data tops as external inputs, shaped by the batch size of the phase.
fn context(s: &Shipped, phase: Phase) -> BuildContext {
    let mut data_shapes: HashMap<String, Shape> = HashMap::new();
    if let Some((image, train_batch, test_batch)) = s.data {
        let n = if phase == Phase::Train {
            train_batch
        } else {
            test_batch
        };
        let mut shape = vec![n];
        shape.extend(image);
        data_shapes.insert("data".into(), shape);
        data_shapes.insert("label".into(), vec![n]);
    }
    BuildContext {
        phase: Some(phase),
        data_shapes,
        external_data: true,
    }
}

fn build_phase(s: &Shipped, net: &NetParameter, phase: Phase) -> NetGraph {
    let loaded = load(s.file);
    let state = net_state(net, phase, None, &[]);
    build(net, &state, &loaded.source, &context(s, phase))
        .unwrap_or_else(|e| panic!("{} ({phase:?}): {e}", s.file))
}

#[test]
fn the_shipped_nets_are_the_listed_ones() {
    let on_disk = files("nets", &["prototxt"]);
    let listed: BTreeSet<String> = SHIPPED
        .iter()
        .map(|s| format!("{}.prototxt", s.file))
        .collect();
    assert_eq!(on_disk, listed, "nets/ and SHIPPED disagree");
}

#[test]
fn every_net_parses_and_is_described_in_the_readme() {
    let readme = std::fs::read_to_string(root().join("nets/README.md")).unwrap();
    for s in SHIPPED {
        let loaded = load(s.file);
        assert!(!loaded.net.layer.is_empty(), "{}: no layers", s.file);
        assert!(
            readme.contains(&format!("{}.prototxt", s.file)),
            "nets/README.md does not describe {}",
            s.file
        );
        // Train nets read from data/ (relative to the repository), as
        // `caffers data` writes it.
        for l in &loaded.net.layer {
            if l.r#type() == "Data" {
                let p = l.data_param();
                assert!(
                    p.source().starts_with("data/") && p.batch_size() > 0,
                    "{}: layer {} reads {:?}",
                    s.file,
                    l.name(),
                    p.source()
                );
                let transform = l.transform_param();
                let mean = transform.mean_file();
                assert!(
                    mean.is_empty() || mean.starts_with("data/"),
                    "{}: mean file {mean}",
                    s.file
                );
            }
        }
        // Deploy nets begin with an Input layer and have no data or loss layers.
        if s.data.is_none() {
            assert_eq!(loaded.net.layer[0].r#type(), "Input", "{}", s.file);
            assert!(
                !loaded
                    .net
                    .layer
                    .iter()
                    .any(|l| matches!(l.r#type(), "Data" | "SoftmaxWithLoss" | "Accuracy")),
                "{}: deploy net with training layers",
                s.file
            );
        }
    }
}

/// The solver files with the update rule and schedule each should have.
const SOLVERS: &[(&str, &str, &str, f32)] = &[
    ("lenet_solver.prototxt", "SGD", "inv", 0.01),
    ("lenet_solver.toml", "SGD", "inv", 0.01),
    ("lenet_solver_adam.prototxt", "Adam", "fixed", 0.001),
    ("lenet_solver_rmsprop.prototxt", "RMSProp", "inv", 0.01),
    ("lenet_solver_adadelta.prototxt", "AdaDelta", "fixed", 1.0),
    ("lenet_solver_nesterov.prototxt", "Nesterov", "inv", 0.01),
    ("cifar10_quick_solver.prototxt", "SGD", "fixed", 0.001),
    ("cifar10_quick_solver_lr1.prototxt", "SGD", "fixed", 0.0001),
    ("cifar10_full_solver.prototxt", "SGD", "fixed", 0.001),
    ("cifar10_full_solver_lr1.prototxt", "SGD", "fixed", 0.0001),
    ("cifar10_full_solver_lr2.prototxt", "SGD", "fixed", 0.00001),
    ("alexnet_solver.prototxt", "SGD", "step", 0.01),
    ("caffenet_solver.prototxt", "SGD", "step", 0.01),
    ("googlenet_solver.prototxt", "SGD", "poly", 0.01),
    ("mobilenet_v1_solver.prototxt", "SGD", "poly", 0.1),
];

#[test]
fn every_solver_loads_validates_and_names_a_shipped_net() {
    let on_disk = files("solvers", &["prototxt", "toml"]);
    let listed: BTreeSet<String> = SOLVERS.iter().map(|s| s.0.to_string()).collect();
    assert_eq!(on_disk, listed, "solvers/ and SOLVERS disagree");
    for &(file, ty, policy, base_lr) in SOLVERS {
        let path = root().join("solvers").join(file);
        let s = load_solver(&path).unwrap_or_else(|e| panic!("{e}"));
        caffers::solver::validate(&s).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            (s.r#type(), s.lr_policy(), s.base_lr()),
            (ty, policy, base_lr),
            "{file}"
        );
        // Paths relative to the repository root, as the CLI runs from there.
        let net = s.net();
        assert!(
            net.starts_with("nets/") && root().join(net).is_file(),
            "{file}: net {net:?} is not a file in nets/"
        );
        let stem = Path::new(net).file_stem().unwrap().to_str().unwrap();
        assert!(shipped(stem).data.is_some(), "{file}: trains a deploy net");
        assert!(
            s.snapshot_prefix().starts_with("snapshots/"),
            "{file}: snapshot_prefix {:?}",
            s.snapshot_prefix()
        );
        assert_eq!(s.solver_mode(), SolverMode::Cpu, "{file}");
        assert!(s.max_iter() > 0 && s.test_iter.len() == 1, "{file}");
    }
}

#[test]
fn the_toml_solver_is_the_prototxt_solver() {
    let proto = load_solver(&root().join("solvers/lenet_solver.prototxt")).unwrap();
    let toml = load_solver(&root().join("solvers/lenet_solver.toml")).unwrap();
    assert_eq!(toml, proto);
}

/// Layer types without parameters whose top has the shape of their bottom, and
/// the sinks at the end of a net: what a net keeps its parameter totals without.
const PARAMETER_FREE: &[&str] = &[
    "ReLU",
    "Dropout",
    "LRN",
    "Softmax",
    "SoftmaxWithLoss",
    "Accuracy",
];

/// The net with its parameter-free layers left out (their consumers read the
/// blob they read).
fn parameter_layers(net: &NetParameter) -> NetParameter {
    let mut alias: HashMap<String, String> = HashMap::new();
    let mut out = net.clone();
    out.layer.clear();
    for l in &net.layer {
        if PARAMETER_FREE.contains(&l.r#type()) {
            let from = alias
                .get(&l.bottom[0])
                .cloned()
                .unwrap_or(l.bottom[0].clone());
            for t in &l.top {
                alias.insert(t.clone(), from.clone());
            }
            continue;
        }
        let mut l = l.clone();
        for b in &mut l.bottom {
            if let Some(a) = alias.get(b) {
                *b = a.clone();
            }
        }
        out.layer.push(l);
    }
    out
}

#[test]
fn param_totals_through_the_parameter_layers() {
    // Every net whose layers with parameters are Convolution and InnerProduct
    // (Data layers take their shapes from the context).
    for file in [
        "lenet_train_test",
        "lenet_deploy",
        "cifar10_quick_train_test",
        "cifar10_quick_deploy",
        "cifar10_full_train_test",
        "cifar10_full_deploy",
        "alexnet_train_val",
        "alexnet_deploy",
        "caffenet_train_val",
        "caffenet_deploy",
    ] {
        let s = shipped(file);
        let loaded = load(file);
        for &phase in phases(s) {
            let reduced = parameter_layers(&loaded.net);
            let state = net_state(&reduced, phase, None, &[]);
            let graph = build(&reduced, &state, &Default::default(), &context(s, phase))
                .unwrap_or_else(|e| panic!("{file} ({phase:?}): {e}"));
            assert_eq!(graph.total_params(), s.params, "{file} ({phase:?})");
        }
    }
}

/// Builds every phase of a net and checks its total, its outputs, and that a
/// train net's weights fit the deploy net of the same model.
fn check_full_build(file: &str) {
    let s = shipped(file);
    let loaded = load(file);
    for &phase in phases(s) {
        let graph = build_phase(s, &loaded.net, phase);
        assert_eq!(graph.total_params(), s.params, "{file} ({phase:?})");
        let outputs: Vec<&str> = graph
            .outputs
            .iter()
            .map(|&b| graph.blobs[b].name.as_str())
            .collect();
        match s.output {
            Some((name, shape)) => {
                assert_eq!(outputs, [name], "{file}");
                assert_eq!(graph.blob(name).unwrap().shape, shape, "{file}");
            }
            None => {
                let losses = graph
                    .layers
                    .iter()
                    .filter(|l| l.type_name() == "SoftmaxWithLoss")
                    .count();
                assert!(losses > 0, "{file} ({phase:?}): no loss");
                let accuracies = graph
                    .layers
                    .iter()
                    .filter(|l| l.type_name() == "Accuracy")
                    .count();
                assert_eq!(
                    accuracies > 0,
                    phase == Phase::Test,
                    "{file} ({phase:?}): accuracy only when testing"
                );
                assert_eq!(outputs.len(), losses + accuracies, "{file}: {outputs:?}");
            }
        }
    }
}

/// The deploy net's layers with parameters have the names and parameter shapes of
/// the train net's, so weights trained with one load into the other.
fn check_weights_fit(train: &str, deploy: &str) {
    let (ts, ds) = (shipped(train), shipped(deploy));
    let tg = build_phase(ts, &load(train).net, Phase::Train);
    let dg = build_phase(ds, &load(deploy).net, Phase::Test);
    for l in dg.layers.iter().filter(|l| !l.param_shapes.is_empty()) {
        let t = tg
            .layers
            .iter()
            .find(|t| t.name() == l.name())
            .unwrap_or_else(|| panic!("{deploy}: {} is not in {train}", l.name()));
        assert_eq!(t.param_shapes, l.param_shapes, "{deploy}: {}", l.name());
    }
}

macro_rules! full_build_tests {
    ($($test:ident: $file:literal;)*) => {$(
        #[test]
        fn $test() {
            check_full_build($file);
        }
    )*};
}

full_build_tests! {
    builds_lenet_train_test: "lenet_train_test";
    builds_lenet_deploy: "lenet_deploy";
    builds_cifar10_quick_train_test: "cifar10_quick_train_test";
    builds_cifar10_quick_deploy: "cifar10_quick_deploy";
    builds_cifar10_full_train_test: "cifar10_full_train_test";
    builds_cifar10_full_deploy: "cifar10_full_deploy";
    builds_alexnet_train_val: "alexnet_train_val";
    builds_alexnet_deploy: "alexnet_deploy";
    builds_caffenet_train_val: "caffenet_train_val";
    builds_caffenet_deploy: "caffenet_deploy";
    builds_googlenet_train_val: "googlenet_train_val";
    builds_googlenet_deploy: "googlenet_deploy";
    builds_mobilenet_v1_train_val: "mobilenet_v1_train_val";
    builds_mobilenet_v1_deploy: "mobilenet_v1_deploy";
    builds_mobilenet_v1_075_train_val: "mobilenet_v1_075_train_val";
    builds_mobilenet_v1_075_deploy: "mobilenet_v1_075_deploy";
    builds_mobilenet_v1_050_train_val: "mobilenet_v1_050_train_val";
    builds_mobilenet_v1_050_deploy: "mobilenet_v1_050_deploy";
    builds_mobilenet_v1_025_train_val: "mobilenet_v1_025_train_val";
    builds_mobilenet_v1_025_deploy: "mobilenet_v1_025_deploy";
}

macro_rules! weights_fit_tests {
    ($($test:ident: $train:literal, $deploy:literal;)*) => {$(
        #[test]
        fn $test() {
            check_weights_fit($train, $deploy);
        }
    )*};
}

weights_fit_tests! {
    lenet_weights_fit_deploy: "lenet_train_test", "lenet_deploy";
    cifar10_quick_weights_fit_deploy: "cifar10_quick_train_test", "cifar10_quick_deploy";
    cifar10_full_weights_fit_deploy: "cifar10_full_train_test", "cifar10_full_deploy";
    alexnet_weights_fit_deploy: "alexnet_train_val", "alexnet_deploy";
    caffenet_weights_fit_deploy: "caffenet_train_val", "caffenet_deploy";
    googlenet_weights_fit_deploy: "googlenet_train_val", "googlenet_deploy";
    mobilenet_v1_weights_fit_deploy: "mobilenet_v1_train_val", "mobilenet_v1_deploy";
    mobilenet_v1_075_weights_fit_deploy: "mobilenet_v1_075_train_val", "mobilenet_v1_075_deploy";
    mobilenet_v1_050_weights_fit_deploy: "mobilenet_v1_050_train_val", "mobilenet_v1_050_deploy";
    mobilenet_v1_025_weights_fit_deploy: "mobilenet_v1_025_train_val", "mobilenet_v1_025_deploy";
}

/// MobileNet v1's width multipliers against the paper's table 6 (Howard et al.
/// 2017), which gives parameters in millions to one decimal: 4.2, 2.6, 1.3, 0.5.
/// The paper counts the learned values — convolutions, classifier and
/// BatchNorm's γ and β (our Scale layers) — not BatchNorm's running mean and
/// variance, so those layers are left out. The exact counts are pinned too, and
/// each must round (to the nearest 0.1 M) to the paper's figure.
#[test]
fn mobilenet_widths_have_the_published_parameter_counts() {
    for (file, exact, paper_tenths_of_millions) in [
        ("mobilenet_v1_deploy", 4_231_976, 42),
        ("mobilenet_v1_075_deploy", 2_585_560, 26),
        ("mobilenet_v1_050_deploy", 1_331_592, 13),
        ("mobilenet_v1_025_deploy", 470_072, 5),
    ] {
        let graph = build_phase(shipped(file), &load(file).net, Phase::Test);
        let learned: usize = graph
            .layers
            .iter()
            .filter(|l| l.type_name() != "BatchNorm")
            .map(|l| l.param_count())
            .sum();
        assert_eq!(learned, exact, "{file}");
        let tenths = (learned as f64 / 100_000.0).round() as usize;
        assert_eq!(tenths, paper_tenths_of_millions, "{file}: {learned}");
    }
}
