//! Steering `caffers train` as a Caffe user would: Caffe's single-dash flags,
//! `--set` overrides, Caffe's default snapshot prefix, `--resume` and
//! `--snapshot DIR`, and signals sent to a real training process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A fresh folder with a tiny net (DummyData → InnerProduct → EuclideanLoss) and
/// `solver.prototxt` holding `solver` plus the net; no snapshot_prefix.
fn workdir(case: &str, solver: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("caffers-steer-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("net.prototxt"),
        "name: 'tiny'
layer { name: 'data' type: 'DummyData' top: 'x' top: 'y'
  dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 }
    data_filler { type: 'gaussian' std: 1 } data_filler { type: 'constant' value: 0.5 } } }
layer { name: 'ip' type: 'InnerProduct' bottom: 'x' top: 'p'
  inner_product_param { num_output: 2 weight_filler { type: 'gaussian' std: 0.1 } } }
layer { name: 'loss' type: 'EuclideanLoss' bottom: 'p' bottom: 'y' top: 'loss' }
",
    )
    .unwrap();
    std::fs::write(
        dir.join("solver.prototxt"),
        format!("net: 'net.prototxt'\nbase_lr: 0.01\nlr_policy: 'fixed'\nrandom_seed: 1\n{solver}"),
    )
    .unwrap();
    dir
}

fn caffers(dir: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["--signal=KILL", "120", env!("CARGO_BIN_EXE_caffers")])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> String {
    let log = stderr_of(out);
    assert!(out.status.success(), "failed:\n{log}");
    log
}

fn failed(out: &Output, needles: &[&str]) {
    let log = stderr_of(out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    for n in needles {
        assert!(log.contains(n), "lacks `{n}`:\n{log}");
    }
}

#[test]
fn caffe_flags_and_set_as_typed() {
    let dir = workdir("flags", "max_iter: 100\ndisplay: 1\n");
    let out = caffers(
        &dir,
        &[
            "train",
            "-solver",
            "solver.prototxt",
            "--set",
            "max_iter=3",
            "--set",
            "base_lr=0.5",
            "-sighup_effect=none",
            "-gpu",
            "0",
        ],
    );
    let log = succeeded(&out);
    assert!(log.contains("Iteration 2, lr = 0.5"), "{log}");
    assert!(log.contains("-gpu 0 is ignored"), "{log}");
    // No snapshot_prefix: Caffe's rule, the solver file's path without extension.
    assert!(
        log.contains("snapshot_prefix was not specified and is set to solver"),
        "{log}"
    );
    assert!(dir.join("solver_iter_3.caffemodel").is_file());
    assert!(dir.join("solver_iter_3.solverstate").is_file());
    assert!(!dir.join("solver_iter_100.caffemodel").exists());
}

#[test]
fn set_refuses_typos_and_bad_values_naming_the_argument() {
    let dir = workdir("set-errors", "max_iter: 3\n");
    let out = caffers(&dir, &["train", "solver.prototxt", "--set", "bse_lr=0.5"]);
    failed(&out, &["--set bse_lr=0.5:1:1", "base_lr"]);
    let out = caffers(
        &dir,
        &["train", "solver.prototxt", "--set", "max_iter=lots"],
    );
    failed(&out, &["--set max_iter=lots:1:11"]);
    let out = caffers(&dir, &["train", "solver.prototxt", "--set", "max_iter=-2"]);
    failed(&out, &["--set max_iter=-2:1:1", "max_iter"]);
    assert!(!dir.join("solver_iter_3.caffemodel").exists());
}

#[test]
fn resume_takes_the_newest_state_by_iteration() {
    let dir = workdir(
        "resume",
        "max_iter: 10\nsnapshot: 2\nsnapshot_prefix: 'snaps/run'\n",
    );
    let out = caffers(&dir, &["train", "solver.prototxt", "--resume"]);
    failed(&out, &["--resume: no snaps/run_iter_N.solverstate"]);
    succeeded(&caffers(&dir, &["train", "solver.prototxt"]));
    // `run_iter_8` sorts after `run_iter_10` by name; the iteration decides.
    let out = caffers(
        &dir,
        &[
            "train",
            "solver.prototxt",
            "--resume",
            "--set",
            "max_iter=12",
        ],
    );
    let log = succeeded(&out);
    assert!(
        log.contains("Resuming from snaps/run_iter_10.solverstate"),
        "{log}"
    );
    assert!(dir.join("snaps/run_iter_12.caffemodel").is_file());
    let out = caffers(
        &dir,
        &[
            "train",
            "solver.prototxt",
            "-snapshot",
            "snaps",
            "--set",
            "max_iter=14",
        ],
    );
    let log = succeeded(&out);
    assert!(
        log.contains("Resuming from snaps/run_iter_12.solverstate"),
        "{log}"
    );
    let out = caffers(
        &dir,
        &[
            "train",
            "solver.prototxt",
            "--resume",
            "--weights",
            "x.caffemodel",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

/// Sends `signal` (a `kill` name: HUP, INT, TERM) to process `pid`.
fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "no {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn states(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".solverstate"))
        .collect();
    names.sort();
    names
}

#[test]
fn signals_snapshot_ignore_and_stop_as_asked() {
    // Far more iterations than the test waits for; no periodic or final snapshot,
    // so every state on disk was asked for by a signal.
    let dir = workdir(
        "signals",
        "max_iter: 2000000000\nsnapshot_after_train: false\nsnapshot_prefix: 'out/s'\n",
    );
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let log_file = std::fs::File::create(dir.join("train.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .args(["train", "solver.prototxt", "--sigint-effect", "none"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let pid = child.id();
    let log = || std::fs::read_to_string(dir.join("train.log")).unwrap_or_default();
    wait_for("start", || log().contains("Starting Optimization"));
    // SIGHUP (default: snapshot and go on).
    send("HUP", pid);
    wait_for("SIGHUP snapshot", || states(&dir.join("out")).len() == 1);
    assert!(child.try_wait().unwrap().is_none(), "stopped on SIGHUP");
    // SIGINT with --sigint-effect none: ignored.
    send("INT", pid);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped on an ignored SIGINT"
    );
    // SIGTERM: snapshot and stop, exit 0.
    send("TERM", pid);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "SIGTERM did not stop it"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = log();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(log.contains("Optimization stopped early."), "{log}");
    let found = states(&dir.join("out"));
    assert_eq!(found.len(), 2, "{found:?}");
    let iter = |n: &str| -> u64 {
        n.trim_start_matches("s_iter_")
            .trim_end_matches(".solverstate")
            .parse()
            .unwrap()
    };
    let mut iters: Vec<u64> = found.iter().map(|n| iter(n)).collect();
    iters.sort();
    assert!(iters[0] < iters[1], "{iters:?}");
}

/// The `ip` layer's weights and bias in a caffemodel, one array.
fn ip_values(path: &Path) -> Vec<f32> {
    let layers = caffers::io::caffemodel::read_caffemodel(path).unwrap();
    let ip = layers.iter().find(|l| l.name == "ip").unwrap();
    ip.blobs
        .iter()
        .flat_map(|b| b.data.iter().copied())
        .collect()
}

#[test]
fn moving_average_follows_the_formula_and_is_snapshotted() {
    let dir = workdir(
        "ema",
        "max_iter: 4\nsnapshot: 1\nsnapshot_prefix: 's'\nmoving_average_decay: 0.9\n\
         test_interval: 2\ntest_iter: 1\n",
    );
    // Constant initial weights, so the average's starting point is known: 0.1 and
    // a zero bias.
    let net = std::fs::read_to_string(dir.join("net.prototxt"))
        .unwrap()
        .replace("type: 'gaussian' std: 0.1", "type: 'constant' value: 0.1");
    std::fs::write(dir.join("net.prototxt"), net).unwrap();
    let log = succeeded(&caffers(&dir, &["train", "solver.prototxt"]));
    assert!(
        log.contains("Testing with the moving-average weights"),
        "{log}"
    );
    let mut expected: Vec<f32> = [vec![0.1f32; 6], vec![0.0; 2]].concat();
    for n in 1..=4 {
        let weights = ip_values(&dir.join(format!("s_iter_{n}.caffemodel")));
        let d = 0.9f32.min((1.0 + n as f32) / (10.0 + n as f32));
        for (e, w) in expected.iter_mut().zip(&weights) {
            *e = d * *e + (1.0 - d) * w;
        }
        let average = ip_values(&dir.join(format!("s_iter_{n}.ema.caffemodel")));
        for (a, e) in average.iter().zip(&expected) {
            assert!(
                (a - e).abs() <= 1e-6 * e.abs().max(1.0),
                "iteration {n}: {average:?} vs {expected:?}"
            );
        }
        assert_ne!(average, weights, "iteration {n}");
    }
    // A resumed run picks the average up from beside the state.
    let out = caffers(
        &dir,
        &[
            "train",
            "solver.prototxt",
            "--resume",
            "--set",
            "max_iter=5",
        ],
    );
    let log = succeeded(&out);
    assert!(
        log.contains("Loading moving-average weights from ./s_iter_4.ema.caffemodel"),
        "{log}"
    );
}

#[test]
fn test_watch_scores_each_snapshot_of_a_running_training() {
    let dir = workdir(
        "watch",
        "max_iter: 6\nsnapshot: 2\nsnapshot_prefix: 'snaps/tiny'\n",
    );
    std::fs::create_dir_all(dir.join("snaps")).unwrap();
    // Another run's snapshots in the same directory are not this prefix's.
    std::fs::write(dir.join("snaps/other_iter_1.caffemodel"), "").unwrap();
    let watcher = Command::new("timeout")
        .args(["--signal=KILL", "120", env!("CARGO_BIN_EXE_caffers")])
        .args([
            "test",
            "-model",
            "net.prototxt",
            "-weights",
            "snaps",
            "--watch",
            "--prefix",
            "tiny",
            "-iterations",
            "2",
            "--until",
            "snaps/done",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    succeeded(&caffers(&dir, &["train", "solver.prototxt"]));
    std::fs::write(dir.join("snaps/done"), "").unwrap();
    let out = watcher.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", stderr_of(&out));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (line, n) in lines.iter().zip([2, 4, 6]) {
        assert!(
            line.starts_with(&format!(
                "snaps/tiny_iter_{n}.caffemodel iteration {n}: loss = "
            )),
            "{stdout}"
        );
    }
    // --max-snapshots stops on its own.
    let out = caffers(
        &dir,
        &[
            "test",
            "--model",
            "net.prototxt",
            "--weights",
            "snaps",
            "--watch",
            "--prefix",
            "tiny",
            "--max-snapshots",
            "2",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}

#[test]
fn train_reads_and_makes_missing_data_in_data_dir() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let net = repo.join("nets/lenet_train_test.prototxt");
    let dir = workdir(
        "data-dir",
        &format!(
            "max_iter: 1\ntest_iter: 1\ntest_interval: 1\nsnapshot_prefix: 'snaps/l'\nnet: {:?}\n",
            net.display().to_string()
        ),
    );
    // LeNet instead of the tiny net: its Data layers read `data/mnist_*_lmdb`.
    let solver = std::fs::read_to_string(dir.join("solver.prototxt"))
        .unwrap()
        .replace("net: 'net.prototxt'\n", "");
    std::fs::write(dir.join("solver.prototxt"), solver).unwrap();
    std::fs::write(
        dir.join("caffers.toml"),
        format!(
            "data_dir = \"store\"\nmnist_archive = {:?}\n",
            repo.join("../shared/data/mnist").display().to_string()
        ),
    )
    .unwrap();
    let log = succeeded(&caffers(&dir, &["train", "solver.prototxt"]));
    for set in ["train", "test"] {
        let line = format!("data/mnist_{set}_lmdb is missing: using store/mnist_{set}_lmdb");
        assert!(log.contains(&line), "{log}");
        assert!(dir.join(format!("store/mnist_{set}_lmdb")).is_dir());
    }
    assert!(!dir.join("data").exists());
    assert!(dir.join("snaps/l_iter_1.caffemodel").is_file());
}
