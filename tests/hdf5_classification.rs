//! End to end: Caffe's examples/hdf5_classification nets (logistic regression and the
//! two-layer "nonlinear" net), unchanged from ../shared/caffe-reference, trained by
//! `caffers train` on HDF5 files. Caffe's example makes its data with scikit-learn;
//! here two 4-D Gaussian classes, written with caffers' own HDF5 writer into the
//! paths the nets name (relative to the working directory, as Caffe resolves them),
//! split over two training files so the reader moves between files and wraps.

use std::path::{Path, PathBuf};
use std::process::Command;

use caffers::io::hdf5::{write_datasets, Dataset};
use caffers::rng::Rng;

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// `rows` samples: class 0 around (−1.5, −1.5, 0, 0), class 1 around (1.5, 1.5, 0, 0),
/// unit variance (a linear boundary separates them 98% of the time).
fn samples(rng: &mut Rng, rows: usize) -> (Dataset, Dataset) {
    let mut data = Vec::with_capacity(rows * 4);
    let mut label = Vec::with_capacity(rows);
    for _ in 0..rows {
        let class = rng.below(2) as f32;
        let centre = if class == 0.0 { -1.5 } else { 1.5 };
        data.extend([
            rng.gaussian(centre, 1.0),
            rng.gaussian(centre, 1.0),
            rng.gaussian(0.0, 1.0),
            rng.gaussian(0.0, 1.0),
        ]);
        label.push(class);
    }
    (
        Dataset {
            shape: vec![rows, 4],
            values: data,
        },
        Dataset {
            shape: vec![rows],
            values: label,
        },
    )
}

fn write_set(dir: &Path, list: &str, files: &[(&str, usize)], rng: &mut Rng) {
    let mut names = String::new();
    for (name, rows) in files {
        let (data, label) = samples(rng, *rows);
        let path = dir.join(name);
        write_datasets(&path, &[("data", &data), ("label", &label)]).unwrap();
        names.push_str(&format!("examples/hdf5_classification/data/{name}\n"));
    }
    std::fs::write(dir.join(list), names).unwrap();
}

/// Trains `net` (a file of Caffe's example) and returns the final test accuracy.
fn train(net: &str) -> f32 {
    let work = std::env::temp_dir().join(format!(
        "caffers-hdf5-{}-{}",
        net.trim_end_matches(".prototxt"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    let data = work.join("examples/hdf5_classification/data");
    std::fs::create_dir_all(&data).unwrap();
    let mut rng = Rng::new(42);
    write_set(
        &data,
        "train.txt",
        &[("train0.h5", 700), ("train1.h5", 300)],
        &mut rng,
    );
    write_set(&data, "test.txt", &[("test.h5", 1000)], &mut rng);
    std::fs::copy(
        shared()
            .join("caffe-reference/examples/hdf5_classification")
            .join(net),
        work.join("net.prototxt"),
    )
    .unwrap();
    // Caffe's example solver, shortened: 1000 rows, 10 a batch, 4 epochs.
    std::fs::write(
        work.join("solver.prototxt"),
        "net: \"net.prototxt\"\ntest_iter: 100\ntest_interval: 400\nbase_lr: 0.01\n\
         momentum: 0.9\nweight_decay: 0.0005\nlr_policy: \"fixed\"\ndisplay: 100\n\
         max_iter: 400\nsnapshot: 0\nsnapshot_prefix: \"hdf5\"\nrandom_seed: 3\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(&work)
        .args(["train", "solver.prototxt"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "train failed:\n{log}");
    assert!(log.contains("Number of HDF5 files: 2"), "{log}");
    let accuracy = log
        .lines()
        .rfind(|l| l.contains("Test net output") && l.contains("accuracy = "))
        .and_then(|l| l.rsplit("accuracy = ").next())
        .and_then(|v| v.trim().parse::<f32>().ok())
        .unwrap_or_else(|| panic!("no test accuracy in:\n{log}"));
    std::fs::remove_dir_all(&work).unwrap();
    accuracy
}

#[test]
fn caffes_hdf5_classification_nets_train_from_hdf5_files() {
    for net in ["train_val.prototxt", "nonlinear_train_val.prototxt"] {
        let accuracy = train(net);
        eprintln!("{net}: test accuracy {accuracy}");
        assert!(accuracy >= 0.9, "{net}: test accuracy {accuracy}");
    }
}
