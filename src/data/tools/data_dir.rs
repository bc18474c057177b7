//! caffers.toml's `data_dir` for training: a net names its data as Caffe's
//! examples do (`data/cifar10_train_lmdb`, `examples/mnist/mnist_train_lmdb`),
//! relative to the working directory. When caffers.toml sets `data_dir` and such a
//! path does not exist, the file of the same name in `data_dir` is used instead —
//! if it is there, or if it is a dataset [`super::prepare`] makes (it is then made
//! there). Absolute paths and paths that exist are never moved.

use std::path::{Path, PathBuf};

use super::prepare::makes;
use crate::proto::NetParameter;

/// Points the Data layers' sources and mean files that are missing at `data_dir`;
/// returns each (as written, now) pair.
pub fn relocate_to_data_dir(net: &mut NetParameter, data_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut moved = Vec::new();
    for layer in &mut net.layer {
        if layer.r#type() != "Data" {
            continue;
        }
        let source = layer.data_param.as_mut().and_then(|d| d.source.as_mut());
        let mean = layer
            .transform_param
            .as_mut()
            .and_then(|t| t.mean_file.as_mut());
        for path in [source, mean].into_iter().flatten() {
            if let Some(to) = in_data_dir(path, data_dir) {
                moved.push((std::mem::replace(path, to.display().to_string()), to));
            }
        }
    }
    moved
}

/// Where `path` is read from instead, when it moves.
fn in_data_dir(path: &str, data_dir: &Path) -> Option<PathBuf> {
    let given = Path::new(path);
    if path.is_empty() || given.is_absolute() || given.exists() {
        return None;
    }
    let moved = data_dir.join(given.file_name()?);
    (moved != given && (moved.exists() || makes(&moved))).then_some(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_sources_move_to_the_data_dir() {
        let dir = std::env::temp_dir().join(format!("caffers-datadir-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("mine_lmdb")).unwrap();
        let src = crate::error::SourceFile::new(
            "n.prototxt",
            "layer { name: 'a' type: 'Data' top: 'x' data_param { source: 'data/mine_lmdb' }
               transform_param { mean_file: 'data/mean.binaryproto' } }
             layer { name: 'b' type: 'Data' top: 'y' data_param { source: 'data/other_lmdb' } }
             layer { name: 'c' type: 'Data' top: 'z' data_param { source: 'x/mnist_test_lmdb' } }
             layer { name: 'd' type: 'Data' top: 'w' data_param { source: '/abs/mnist_test_lmdb' } }",
        );
        let mut net = crate::load::net_from_source(&src).unwrap().net;
        let moved = relocate_to_data_dir(&mut net, &dir);
        let names: Vec<(&str, PathBuf)> =
            moved.iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
        assert_eq!(
            names,
            [
                ("data/mine_lmdb", dir.join("mine_lmdb")),
                ("data/mean.binaryproto", dir.join("mean.binaryproto")),
                ("x/mnist_test_lmdb", dir.join("mnist_test_lmdb")),
            ]
        );
        assert_eq!(net.layer[1].data_param().source(), "data/other_lmdb");
        assert_eq!(
            net.layer[0].data_param().source(),
            dir.join("mine_lmdb").display().to_string()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
