//! Preparing the datasets a training run needs, before its nets are built.
//!
//! Exactly what happens, for every `Data` layer of every net the solver names
//! (all phases), looking at its `data_param.source` and its
//! `transform_param.mean_file`, paths taken as given (relative to the working
//! directory, as Caffe does):
//!
//! - A path that exists is left alone. So is a missing one whose file name is not
//!   one of Caffe's dataset names below: building the net then reports it.
//! - `mnist_train_lmdb` or `mnist_test_lmdb` missing: both are made in that path's
//!   folder (`caffers data mnist`) from the first MNIST source found of:
//!   `mnist_archive` in caffers.toml (a folder with the four IDX .gz files);
//!   `../shared/data/mnist` when it holds them; otherwise the four files are
//!   downloaded into `<data_dir>/downloads/mnist` ([`super::download`]: HTTPS,
//!   published checksums, refused under `offline`).
//! - `cifar10_train_lmdb`, `cifar10_test_lmdb` or `mean.binaryproto` missing: the
//!   two LMDBs and the mean are made in that folder (`caffers data cifar10`) from
//!   `cifar10_archive` in caffers.toml, else
//!   `../shared/data/cifar10/cifar-10-binary.tar.gz` when present, else a download
//!   into `<data_dir>/downloads/` (as for MNIST). When only the mean is missing and
//!   `cifar10_train_lmdb` exists beside it, the mean is computed from that LMDB.
//!   An LMDB that exists in that folder is never overwritten; the other one is
//!   made beside it.
//! - Every dataset is built under a temporary name and renamed when complete
//!   ([`super::staged`]), so a name that exists holds a whole dataset.
//!
//! Every step is printed on stderr as an INFO line.

use std::path::{Path, PathBuf};

use crate::log::info;

use super::download::{fetch, CIFAR10, MNIST};
use crate::proto::NetParameter;
use crate::settings::RunSettings;

const SHARED_MNIST: &str = "../shared/data/mnist";
const SHARED_CIFAR10: &str = "../shared/data/cifar10/cifar-10-binary.tar.gz";

/// The data files a net reads: Data sources and mean files.
pub fn data_paths(net: &NetParameter) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for layer in &net.layer {
        if layer.r#type() != "Data" {
            continue;
        }
        let dp = layer.data_param();
        let source = dp.source();
        if !source.is_empty() {
            paths.push(PathBuf::from(source));
        }
        let tp = layer.transform_param();
        let mean = tp.mean_file();
        if !mean.is_empty() {
            paths.push(PathBuf::from(mean));
        }
    }
    paths
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dataset {
    Mnist,
    Cifar10,
}

fn known(path: &Path) -> Option<Dataset> {
    match path.file_name()?.to_str()? {
        "mnist_train_lmdb" | "mnist_test_lmdb" => Some(Dataset::Mnist),
        "cifar10_train_lmdb" | "cifar10_test_lmdb" | "mean.binaryproto" => Some(Dataset::Cifar10),
        _ => None,
    }
}

/// Whether `path` names a dataset [`prepare`] makes when it is missing.
pub fn makes(path: &Path) -> bool {
    known(path).is_some()
}

/// Makes every missing dataset among `paths` that has a known name (see the
/// module documentation).
pub fn prepare(paths: &[PathBuf], settings: &RunSettings) -> Result<(), String> {
    for path in paths {
        if path.exists() {
            continue;
        }
        let Some(set) = known(path) else { continue };
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        match set {
            Dataset::Mnist => {
                let from = mnist_source(settings)?;
                info(
                    "prepare",
                    &format!(
                        "{} is missing: making MNIST LMDBs in {} from {}",
                        path.display(),
                        dir.display(),
                        from.display()
                    ),
                );
                super::mnist::convert(&from, &dir, None)?;
            }
            Dataset::Cifar10 => {
                let train = dir.join("cifar10_train_lmdb");
                let is_mean = path.file_name().is_some_and(|n| n == "mean.binaryproto");
                if is_mean && train.exists() {
                    info(
                        "prepare",
                        &format!(
                            "{} is missing: computing it from {}",
                            path.display(),
                            train.display()
                        ),
                    );
                    super::mean::compute_mean_file(&train, path)?;
                    continue;
                }
                let from = cifar10_source(settings)?;
                info(
                    "prepare",
                    &format!(
                        "{} is missing: making CIFAR-10 LMDBs and mean in {} from {}",
                        path.display(),
                        dir.display(),
                        from.display()
                    ),
                );
                super::cifar10::convert(&from, &dir, None)?;
            }
        }
    }
    Ok(())
}

fn has_mnist(dir: &Path) -> bool {
    super::mnist::FILES.iter().all(|f| dir.join(f).is_file())
}

/// The folder holding MNIST's four files: caffers.toml, shared/, or a download.
pub fn mnist_source(settings: &RunSettings) -> Result<PathBuf, String> {
    if let Some(dir) = &settings.mnist_archive {
        return Ok(PathBuf::from(dir));
    }
    if has_mnist(Path::new(SHARED_MNIST)) {
        return Ok(PathBuf::from(SHARED_MNIST));
    }
    let dir = Path::new(settings.data_dir())
        .join("downloads")
        .join("mnist");
    for archive in &MNIST {
        let dest = dir.join(archive.name);
        if !dest.is_file() {
            fetch(archive, &dest, settings.offline)?;
        }
    }
    Ok(dir)
}

/// CIFAR-10's binary .tar.gz: caffers.toml, shared/, or a download.
pub fn cifar10_source(settings: &RunSettings) -> Result<PathBuf, String> {
    if let Some(f) = &settings.cifar10_archive {
        return Ok(PathBuf::from(f));
    }
    if Path::new(SHARED_CIFAR10).is_file() {
        return Ok(PathBuf::from(SHARED_CIFAR10));
    }
    let dest = Path::new(settings.data_dir())
        .join("downloads")
        .join("cifar-10-binary.tar.gz");
    if !dest.is_file() {
        fetch(&CIFAR10, &dest, settings.offline)?;
    }
    Ok(dest)
}
