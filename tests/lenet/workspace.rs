//! A work folder for training the shipped LeNet: caffers.toml naming the shipped
//! MNIST archive (train makes the LMDBs from it) and a shortened lenet_solver.

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `lenet_solver.prototxt` run for `max_iter` iterations, tested at the end (and
/// at 0), snapshotting every `snapshot`, with a fixed seed.
pub fn workspace(name: &str, max_iter: u32, snapshot: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("caffers-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("snapshots")).unwrap();
    let mnist = repo().join("../shared/data/mnist");
    std::fs::write(
        dir.join("caffers.toml"),
        format!("mnist_archive = {:?}\n", mnist.display().to_string()),
    )
    .unwrap();
    let solver = std::fs::read_to_string(repo().join("solvers/lenet_solver.prototxt")).unwrap();
    let net = repo().join("nets/lenet_train_test.prototxt");
    let solver = solver
        .replace("max_iter: 10000", &format!("max_iter: {max_iter}"))
        .replace("test_interval: 500", &format!("test_interval: {max_iter}"))
        .replace("snapshot: 5000", &format!("snapshot: {snapshot}"))
        .replace(
            "\"nets/lenet_train_test.prototxt\"",
            &format!("{:?}", net.display().to_string()),
        )
        + "random_seed: 7\n";
    std::fs::write(dir.join("solver.prototxt"), solver).unwrap();
    dir
}
