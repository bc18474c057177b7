//! Class 2 (divergence is invisible) and the run-bound cases of class 7: a diverging
//! LeNet stops with exit 1 naming the iteration and a layer and writes no non-finite
//! snapshot; `--debug-info` prints Caffe's per-layer lines; caffers.toml's `threads`
//! is bounded; solverstates and solvers with impossible counts are refused; a closed
//! log pipe stops training.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use caffers::io::solverstate::{solverstate_bytes, SolverSnapshot};
use regex::Regex;

use crate::support::{assert_clean_error, assert_success, caffers, repo, stderr, workdir, write};

/// MNIST's LMDBs, made once for every case here (by `caffers data mnist`).
fn mnist_data() -> &'static Path {
    static DATA: OnceLock<PathBuf> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = workdir("divergence-mnist");
        let archive = repo().join("../shared/data/mnist");
        let out = caffers(
            &dir,
            &[
                "data",
                "mnist",
                "--from",
                archive.to_str().unwrap(),
                "--out",
                "data",
            ],
        );
        assert_success(&out);
        dir.join("data")
    })
}

/// A work folder for LeNet: `data` links to the shared LMDBs, `solver.prototxt` is
/// lenet_solver with `changes` applied (each a line replacement or an added line).
fn lenet(case: &str, changes: &[(&str, &str)], extra: &str) -> PathBuf {
    let dir = workdir(case);
    std::os::unix::fs::symlink(mnist_data(), dir.join("data")).unwrap();
    let net = repo().join("nets/lenet_train_test.prototxt");
    let mut solver = std::fs::read_to_string(repo().join("solvers/lenet_solver.prototxt")).unwrap();
    solver = solver.replace(
        "\"nets/lenet_train_test.prototxt\"",
        &format!("{:?}", net.display().to_string()),
    );
    for (from, to) in changes {
        assert!(solver.contains(from), "lenet_solver lacks `{from}`");
        solver = solver.replace(from, to);
    }
    // No test pass at iteration 0: these cases are about training.
    write(
        &dir,
        "solver.prototxt",
        solver + "test_initialization: false\n" + extra,
    );
    dir
}

/// Every `.caffemodel` under `dir/snapshots`.
fn caffemodels(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("snapshots")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "caffemodel"))
        .collect()
}

#[test]
fn a_diverging_run_stops_naming_the_iteration_and_layer() {
    let dir = lenet(
        "diverge",
        &[
            ("base_lr: 0.01", "base_lr: 1e10"),
            ("max_iter: 10000", "max_iter: 50"),
            ("snapshot: 5000", "snapshot: 1"),
            ("display: 100", "display: 1"),
            ("test_interval: 500", "test_interval: 1000"),
        ],
        "random_seed: 3\n",
    );
    let out = caffers(&dir, &["train", "solver.prototxt"]);
    assert_clean_error(&out, &["training diverged at iteration ", "layer `"]);
    let err = stderr(&out);
    let at = Regex::new(r"diverged at iteration (\d+)")
        .unwrap()
        .captures(&err)
        .unwrap()[1]
        .parse::<u32>()
        .unwrap();
    assert!(at < 50, "{err}");
    // Snapshots were written every iteration before it, none after, all finite.
    let models = caffemodels(&dir);
    assert_eq!(models.len(), at as usize, "{models:?}\n{err}");
    for model in &models {
        let weights = caffers::io::caffemodel::read_caffemodel(model).unwrap();
        for layer in &weights {
            for blob in &layer.blobs {
                assert!(
                    blob.data.iter().all(|v| v.is_finite()),
                    "{} holds non-finite weights",
                    model.display()
                );
            }
        }
    }
    if at > 0 {
        let last = format!("the last good snapshot is snapshots/lenet_iter_{at}.caffemodel");
        assert!(err.contains(&last), "{err}");
    }
}

#[test]
fn debug_info_prints_caffes_per_layer_means() {
    let dir = lenet(
        "debug-info",
        &[
            ("max_iter: 10000", "max_iter: 2"),
            ("test_interval: 500", "test_interval: 1000"),
            ("snapshot: 5000", "snapshot: 0"),
        ],
        "snapshot_after_train: false\n",
    );
    let out = caffers(&dir, &["train", "solver.prototxt", "--debug-info"]);
    assert_success(&out);
    let err = stderr(&out);
    let number = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?|inf|NaN)";
    let forward = Regex::new(&format!(
        r"\] {{5}}\[Forward\] Layer (\S+), top blob (\S+) data: {number}$"
    ))
    .unwrap();
    let backward = Regex::new(&format!(
        r"\] {{5}}\[Backward\] Layer (\S+), (bottom blob \S+|param blob \d+) diff: {number}$"
    ))
    .unwrap();
    let update = Regex::new(&format!(
        r"\] {{5}}\[Update\] Layer (\S+), param (\S+) data: {number}; diff: {number}$"
    ))
    .unwrap();
    let lines: Vec<&str> = err.lines().collect();
    let count = |re: &Regex| lines.iter().filter(|l| re.is_match(l)).count();
    // LeNet's train net: 9 layers with 10 tops per pass; 8 parameter blobs.
    assert_eq!(count(&forward), 2 * 10, "{err}");
    assert_eq!(count(&update), 2 * 8, "{err}");
    assert!(count(&backward) >= 2 * 8, "{err}");
    let conv1 = lines
        .iter()
        .find_map(|l| forward.captures(l).filter(|c| &c[1] == "conv1"))
        .expect("a conv1 line");
    let mean: f32 = conv1[3].parse().unwrap();
    assert!(mean.is_finite() && mean > 0.0, "{}", &conv1[0]);

    // The solver's own `debug_info: true` does the same.
    let dir = lenet(
        "debug-info-field",
        &[
            ("max_iter: 10000", "max_iter: 1"),
            ("test_interval: 500", "test_interval: 1000"),
            ("snapshot: 5000", "snapshot: 0"),
        ],
        "snapshot_after_train: false\ndebug_info: true\n",
    );
    let out = caffers(&dir, &["train", "solver.prototxt"]);
    assert_success(&out);
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| update.is_match(l)).count(),
        8,
        "{err}"
    );
}

#[test]
fn thread_counts_are_bounded() {
    for n in ["100000", "0", "4294967296"] {
        let dir = workdir(&format!("threads-{n}"));
        write(&dir, "caffers.toml", format!("threads = {n}\n"));
        write(
            &dir,
            "net.prototxt",
            crate::support::input_net(&[1, 1, 2, 2], ""),
        );
        let out = caffers(&dir, &["check", "net.prototxt"]);
        assert_clean_error(
            &out,
            &["caffers.toml", &format!("threads = {n} is out of range")],
        );
    }
}

#[test]
fn impossible_solver_counts_are_refused() {
    for (from, to, needle) in [
        (
            "max_iter: 10000",
            "max_iter: -1",
            "max_iter must not be negative",
        ),
        (
            "snapshot: 5000",
            "snapshot: -100",
            "snapshot must not be negative",
        ),
        (
            "display: 100",
            "display: -1",
            "display must not be negative",
        ),
        (
            "test_interval: 500",
            "test_interval: -2147483648",
            "test_interval must not be negative",
        ),
        (
            "base_lr: 0.01",
            "base_lr: nan",
            "base_lr must be a finite number",
        ),
        (
            "momentum: 0.9",
            "momentum: inf",
            "momentum must be a finite number",
        ),
    ] {
        let dir = lenet("solver-counts", &[(from, to)], "");
        let out = caffers(&dir, &["train", "solver.prototxt"]);
        assert_clean_error(&out, &["solver.prototxt", needle]);
    }
}

#[test]
fn solverstates_with_impossible_iterations_are_refused() {
    let changes = [
        ("max_iter: 10000", "max_iter: 20"),
        ("test_interval: 500", "test_interval: 1000"),
    ];
    for (iter, step) in [
        (i32::MAX, 0),
        (-1, 0),
        (i32::MIN, 0),
        (21, 0),
        (5, -3),
        (5, 7),
    ] {
        let dir = lenet("solverstate-iter", &changes, "");
        let state = SolverSnapshot {
            iter,
            learned_net: String::new(),
            history: Vec::new(),
            current_step: step,
        };
        write(&dir, "bad.solverstate", solverstate_bytes(&state));
        let start = Instant::now();
        let out = caffers(
            &dir,
            &["train", "solver.prototxt", "--snapshot", "bad.solverstate"],
        );
        let needle = if step == 0 {
            format!("holds iteration {iter}, outside this solver's 0..=20")
        } else {
            format!("holds multistep position {step}")
        };
        assert_clean_error(&out, &["bad.solverstate", &needle]);
        assert!(start.elapsed() < Duration::from_secs(60));
    }
}

#[test]
fn a_closed_log_pipe_stops_training_with_a_final_snapshot() {
    let dir = lenet(
        "pipe",
        &[
            ("max_iter: 10000", "max_iter: 100000"),
            ("test_interval: 500", "test_interval: 1000000"),
            ("display: 100", "display: 1"),
            ("snapshot: 5000", "snapshot: 0"),
        ],
        "",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .args(["train", "solver.prototxt"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    // Read until training has started, then go away as `head` does.
    loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "log ended early");
        if line.contains("Iteration 2,") {
            break;
        }
    }
    drop(reader);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("still training a minute after its log pipe closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Stopped as on Ctrl-C: exit 0 (a panic would be 101), final snapshot written.
    assert_eq!(status.code(), Some(0), "{status:?}");
    let models = caffemodels(&dir);
    assert_eq!(models.len(), 1, "{models:?}");
}
