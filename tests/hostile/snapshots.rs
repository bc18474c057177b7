//! Class 3: snapshots mixed or clobbered. Real `caffers train` processes on LeNet
//! and MNIST: two runs with one prefix, links planted where snapshots are written,
//! prefixes that cannot be written, and a resume from a backed-up solverstate whose
//! `learned_net` names another file.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{assert_clean_error, assert_success, caffers, repo, stderr, workdir, write};

/// The MNIST LMDBs, made once by `caffers data` and shared (read only) by every case.
fn mnist_lmdbs() -> &'static Path {
    static DATA: OnceLock<PathBuf> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = workdir("snapshots-mnist");
        let archive = repo().join("../shared/data/mnist");
        let archive = archive.display().to_string();
        let out = caffers(
            &dir,
            &["data", "mnist", "--from", &archive, "--out", "data"],
        );
        assert_success(&out);
        dir.join("data")
    })
}

/// A case folder with the MNIST LMDBs linked in as `data/` and a LeNet solver
/// `solver.prototxt` of `max_iter` iterations, snapshotting every 10 to `prefix`.
fn lenet(case: &str, max_iter: u32, prefix: &str) -> PathBuf {
    let dir = workdir(case);
    symlink(mnist_lmdbs(), dir.join("data")).unwrap();
    write_solver(&dir, "solver.prototxt", max_iter, prefix);
    dir
}

fn write_solver(dir: &Path, name: &str, max_iter: u32, prefix: &str) {
    let net = repo().join("nets/lenet_train_test.prototxt");
    let solver = format!(
        "net: {:?}\ntest_iter: 1\ntest_interval: 100000\ntest_initialization: false\n\
         base_lr: 0.01\nmomentum: 0.9\nweight_decay: 0.0005\nlr_policy: \"inv\"\n\
         gamma: 0.0001\npower: 0.75\ndisplay: 10\nmax_iter: {max_iter}\nsnapshot: 10\n\
         snapshot_prefix: {prefix:?}\nrandom_seed: 7\n",
        net.display().to_string()
    );
    std::fs::write(dir.join(name), solver).unwrap();
}

/// `caffers train ARGS…` started directly (so its pid is the child's), output kept.
fn spawn_train(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_caffers"))
        .arg("train")
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to two minutes for `child`, killing it if it is still running then.
fn finish(mut child: Child) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(120), "no {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_second_run_with_the_same_prefix_refuses_and_the_lock_dies_with_its_holder() {
    let dir = lenet("snapshots-lock", 100_000, "snaps/lenet");
    let lock = dir.join("snaps/lenet.lock");
    let mut first = spawn_train(&dir, &["solver.prototxt"]);
    let pid = first.id().to_string();
    wait_for("pid in the lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.trim() == pid)
    });
    write_solver(&dir, "short.prototxt", 20, "snaps/lenet");
    let second = caffers(&dir, &["train", "short.prototxt"]);
    let _ = first.kill();
    let _ = first.wait();
    assert_clean_error(
        &second,
        &["snaps/lenet.lock", "in use", &format!("pid {pid}")],
    );
    assert!(
        !stderr(&second).contains("Iteration"),
        "{}",
        stderr(&second)
    );

    // The kernel released the killed run's lock: the same prefix now trains.
    let third = caffers(&dir, &["train", "short.prototxt"]);
    assert_success(&third);
    assert!(dir.join("snaps/lenet_iter_20.caffemodel").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn links_planted_at_snapshot_names_are_never_followed() {
    let dir = lenet("snapshots-links", 20, "snaps/lenet");
    let snaps = dir.join("snaps");
    std::fs::create_dir_all(&snaps).unwrap();
    let target = dir.join("precious");
    std::fs::write(&target, b"precious").unwrap();
    let finals = [
        "lenet_iter_10.caffemodel",
        "lenet_iter_10.solverstate",
        "lenet_iter_20.caffemodel",
        "lenet_iter_20.solverstate",
    ];
    // The old fixed temporary names, and the final names (a rename must replace
    // the link itself).
    for name in finals {
        symlink(&target, snaps.join(format!("{name}.tmp"))).unwrap();
        symlink(&target, snaps.join(name)).unwrap();
    }
    let child = spawn_train(&dir, &["solver.prototxt"]);
    // Every unique temporary name this process will try for the first writes.
    let pid = child.id();
    for name in finals.iter().chain(&["probe"]) {
        for n in 0..24 {
            let _ = symlink(&target, snaps.join(format!(".{name}.{pid}.{n}.tmp")));
        }
    }
    let out = finish(child);
    assert_success(&out);
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    for name in finals {
        let meta = std::fs::symlink_metadata(snaps.join(name)).unwrap();
        assert!(meta.is_file(), "{name} is still a link");
    }
    // No temporary file left behind: only the planted links end in .tmp.
    for entry in std::fs::read_dir(&snaps).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            assert!(entry.file_type().unwrap().is_symlink(), "litter: {name}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_prefix_is_refused_before_iteration_zero() {
    // Refused even for root: a prefix under a regular file, and under /proc.
    let dir = lenet("snapshots-unwritable", 20, "blocker/snaps/lenet");
    std::fs::write(dir.join("blocker"), b"a file, not a folder").unwrap();
    let out = caffers(&dir, &["train", "solver.prototxt"]);
    assert_clean_error(
        &out,
        &[
            "blocker/snaps/lenet",
            "cannot write `blocker`: it is a file, not a folder",
        ],
    );
    assert!(!stderr(&out).contains("Iteration"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.join("blocker")).unwrap(),
        b"a file, not a folder"
    );

    write_solver(&dir, "proc.prototxt", 20, "/proc/self/lenet");
    let out = caffers(&dir, &["train", "proc.prototxt"]);
    assert_clean_error(&out, &["/proc/self/lenet", "cannot write"]);
    assert!(!stderr(&out).contains("Iteration"), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resume_loads_the_caffemodel_beside_the_state_and_says_so() {
    // A run whose states name their caffemodels by absolute path.
    let dir = lenet("snapshots-resume", 20, "unused");
    let prefix = dir.join("run/lenet").display().to_string();
    write_solver(&dir, "solver.prototxt", 20, &prefix);
    assert_success(&caffers(&dir, &["train", "solver.prototxt"]));
    let run = dir.join("run");
    let uninterrupted = std::fs::read(run.join("lenet_iter_20.caffemodel")).unwrap();

    // Back up the iteration-10 pair, then let "another run" replace the file the
    // state names with different weights.
    std::fs::create_dir_all(dir.join("backup")).unwrap();
    for ext in ["caffemodel", "solverstate"] {
        let name = format!("lenet_iter_10.{ext}");
        std::fs::copy(run.join(&name), dir.join("backup").join(&name)).unwrap();
    }
    std::fs::copy(
        run.join("lenet_iter_20.caffemodel"),
        run.join("lenet_iter_10.caffemodel"),
    )
    .unwrap();

    write_solver(&dir, "resume.prototxt", 20, "resumed/lenet");
    let out = caffers(
        &dir,
        &[
            "train",
            "resume.prototxt",
            "--snapshot",
            "backup/lenet_iter_10.solverstate",
        ],
    );
    assert_success(&out);
    let log = stderr(&out);
    assert!(
        log.contains("Loading weights from backup/lenet_iter_10.caffemodel, the caffemodel beside"),
        "{log}"
    );
    assert!(
        log.contains(&format!("the state names {prefix}_iter_10.caffemodel")),
        "{log}"
    );
    // Resumed from the backed-up weights, it ends where the original run ended.
    let resumed = std::fs::read(dir.join("resumed/lenet_iter_20.caffemodel")).unwrap();
    assert!(resumed == uninterrupted, "resumed from the wrong weights");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Names in `dir` that end in `.tmp`: what a failed write must not leave.
fn litter(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn failed_writes_say_cannot_write_and_leave_no_temporary_files() {
    let dir = lenet("snapshots-writes", 20, "unused");
    std::fs::write(dir.join("blocker"), b"a file").unwrap();
    // A destination that is a folder: the rename fails after the temporary file
    // was written, which must then be removed, and the folder left as it was.
    std::fs::create_dir_all(dir.join("taken.npz/keep")).unwrap();
    std::fs::create_dir_all(dir.join("taken.binaryproto/keep")).unwrap();
    let net = "name: \"w\"\n\
        layer { name: \"d\" type: \"DummyData\" top: \"data\" dummy_data_param { shape { dim: 2 dim: 3 } } }\n\
        layer { name: \"r\" type: \"ReLU\" bottom: \"data\" top: \"out\" }\n";
    let net = write(&dir, "net.prototxt", net);
    let forward = |dump: &str| caffers(&dir, &["forward", "--model", &net, "--dump", dump]);
    assert_clean_error(&forward("blocker/blobs.npz"), &["cannot write `blocker/"]);
    assert_clean_error(&forward("taken.npz"), &["cannot write `taken.npz`"]);
    assert_success(&forward("blobs.npz"));

    let lmdb = "data/mnist_test_lmdb";
    let mean = |out: &str| caffers(&dir, &["compute-mean", lmdb, out]);
    assert_clean_error(
        &mean("blocker/mean.binaryproto"),
        &["cannot write `blocker/"],
    );
    assert_clean_error(
        &mean("taken.binaryproto"),
        &["cannot write `taken.binaryproto`"],
    );
    for taken in ["taken.npz", "taken.binaryproto"] {
        assert!(dir.join(taken).join("keep").is_dir(), "{taken} changed");
    }
    assert!(litter(&dir).is_empty(), "{:?}", litter(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}
