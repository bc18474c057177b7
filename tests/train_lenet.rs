//! End to end: `caffers train` on the shipped LeNet and the shipped MNIST archive.
//! The LMDBs are prepared by `train` itself from the archive named in caffers.toml.
//! Checks: test accuracy after 300 iterations, Caffe's log lines as
//! tools/extra/parse_log.py reads them, and that a run killed after its iteration-150
//! snapshot and resumed from it ends with the same weights, byte for byte, as an
//! uninterrupted run. The trained snapshot is then used as a user would
//! (tests/lenet/use_trained.rs, run here so LeNet is trained once):
//! `caffers classify` on test digits written as PNG files, fine-tuning's
//! Copying/Ignoring lines, and `caffers forward` reading its Data layer.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

#[path = "lenet/workspace.rs"]
mod lenet_workspace;
#[path = "lenet/use_trained.rs"]
mod use_trained_lenet;
use lenet_workspace::workspace;

fn train(dir: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(dir)
        .args(["train", "solver.prototxt"])
        .args(extra)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "train failed:\n{log}");
    log
}

#[test]
fn lenet_trains_logs_like_caffe_and_resumes_exactly() {
    let dir = workspace("full", 300, 150);
    let log = train(&dir, &[]);

    // The regexes of Caffe's tools/extra/parse_log.py and extract_seconds.py.
    let iteration = Regex::new(r"Iteration (\d+)").unwrap();
    let train_output = Regex::new(r"Train net output #(\d+): (\S+) = ([\.\deE+-]+)").unwrap();
    let test_output = Regex::new(r"Test net output #(\d+): (\S+) = ([\.\deE+-]+)").unwrap();
    let learning_rate = Regex::new(r"lr = ([-+]?[0-9]*\.?[0-9]+([eE]?[-+]?[0-9]+)?)").unwrap();
    let glog_time = Regex::new(r"^I\d{4} \d{2}:\d{2}:\d{2}\.\d{6}").unwrap();
    let testing = Regex::new(r"Iteration (\d+), Testing net \(#0\)").unwrap();
    let loss = Regex::new(r"Iteration (\d+)(?: \(.*\))?, loss = ([\.\deE+-]+)").unwrap();
    let snapshot = Regex::new(r"Snapshotting to binary proto file (\S+)").unwrap();
    for line in log.lines().filter(|l| l.contains("Iteration")) {
        assert!(glog_time.is_match(line), "not a glog line: {line}");
    }
    let iterations: Vec<u32> = iteration
        .captures_iter(&log)
        .map(|c| c[1].parse().unwrap())
        .collect();
    assert_eq!(iterations.iter().max(), Some(&300));
    assert!(train_output.is_match(&log), "{log}");
    assert!(learning_rate.is_match(&log), "{log}");
    assert_eq!(testing.captures_iter(&log).count(), 2, "tests at 0 and 300");
    assert!(loss.captures_iter(&log).count() >= 3, "{log}");
    let snaps: Vec<String> = snapshot
        .captures_iter(&log)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(snaps.len(), 2, "{log}");
    let accuracy: f32 = test_output
        .captures_iter(&log)
        .filter(|c| &c[2] == "accuracy")
        .last()
        .expect("a test accuracy line")[3]
        .parse()
        .unwrap();
    assert!(
        accuracy >= 0.95,
        "LeNet after 300 iterations: accuracy {accuracy}"
    );
    let uninterrupted = std::fs::read(dir.join("snapshots/lenet_iter_300.caffemodel")).unwrap();
    use_trained_lenet::check_all(&dir, "snapshots/lenet_iter_300.caffemodel");

    // The same run, killed once its iteration-150 snapshot is on disk, then resumed.
    let killed = workspace("killed", 300, 150);
    let mut child = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(&killed)
        .args(["train", "solver.prototxt"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = killed.join("snapshots/lenet_iter_150.solverstate");
    let start = Instant::now();
    while !state.exists() && start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(state.exists(), "no snapshot at iteration 150");
    let _ = std::fs::remove_file(killed.join("snapshots/lenet_iter_300.caffemodel"));
    train(
        &killed,
        &["--snapshot", "snapshots/lenet_iter_150.solverstate"],
    );
    let resumed = std::fs::read(killed.join("snapshots/lenet_iter_300.caffemodel")).unwrap();
    assert!(
        resumed == uninterrupted,
        "resumed weights differ from the uninterrupted run"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
}
