//! HDF5 files as Caffe's HDF5Data and HDF5Output layers use them: named N-D
//! datasets, read as f32 whatever their stored type (Caffe's hdf5_load_nd_dataset),
//! written as f32. The format itself is `hdf5-pure`'s (pure Rust, no libhdf5).

use std::path::Path;

use crate::error::{Error, Result};
use crate::shape::{checked_count, Shape};

/// One dataset: its shape and values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub shape: Shape,
    pub values: Vec<f32>,
}

/// Reads the datasets `names` from `path`, each as f32. A missing dataset, one
/// with no axes, or one too large for a blob is an error naming the file and the
/// dataset.
pub fn read_datasets(path: &Path, names: &[&str]) -> Result<Vec<Dataset>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let shown = path.display().to_string();
    let file = hdf5_pure::File::from_bytes(bytes)
        .map_err(|e| Error::file(&shown, format!("not a readable HDF5 file: {e}")))?;
    names
        .iter()
        .map(|&name| {
            let problem = |m: String| Error::file(&shown, format!("dataset `{name}`: {m}"));
            let ds = file.dataset(name).map_err(|e| {
                let known = file.root().datasets().unwrap_or_default().join(", ");
                problem(format!("cannot be read ({e}); the file has: [{known}]"))
            })?;
            let dims = ds.shape().map_err(|e| problem(e.to_string()))?;
            if dims.is_empty() {
                return Err(problem(
                    "is a scalar; HDF5Data needs at least one axis (rows)".into(),
                ));
            }
            let shape: Shape = dims
                .iter()
                .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
                .collect();
            let count = checked_count(&shape).map_err(problem)?;
            let values = ds.read::<f32>().map_err(|e| problem(e.to_string()))?;
            if values.len() != count {
                return Err(problem(format!(
                    "holds {} values for shape {shape:?}",
                    values.len()
                )));
            }
            Ok(Dataset { shape, values })
        })
        .collect()
}

/// Writes `datasets` (name, dataset) to `path` as f32, replacing it atomically.
pub fn write_datasets(path: &Path, datasets: &[(&str, &Dataset)]) -> Result<()> {
    let mut builder = hdf5_pure::FileBuilder::new();
    for (name, ds) in datasets {
        let dims: Vec<u64> = ds.shape.iter().map(|&d| d as u64).collect();
        builder
            .create_dataset(name)
            .with_f32_data(&ds.values)
            .with_shape(&dims);
    }
    let bytes = builder.finish().map_err(|e| {
        Error::file(
            path.display().to_string(),
            format!("cannot encode HDF5: {e}"),
        )
    })?;
    super::atomic::write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasets_round_trip_and_integers_read_as_floats() {
        let dir = std::env::temp_dir().join(format!("caffers-h5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.h5");
        let data = Dataset {
            shape: vec![3, 2],
            values: vec![0.5, 1.0, -2.0, 3.25, 4.0, 5.5],
        };
        let label = Dataset {
            shape: vec![3],
            values: vec![1.0, 0.0, 2.0],
        };
        write_datasets(&path, &[("data", &data), ("label", &label)]).unwrap();
        let back = read_datasets(&path, &["label", "data"]).unwrap();
        assert_eq!(back, vec![label, data]);

        // h5py stores labels as integers as often as floats; Caffe reads both.
        let mut b = hdf5_pure::FileBuilder::new();
        b.create_dataset("label")
            .with_i32_data(&[7, -1])
            .with_shape(&[2]);
        let ints = dir.join("ints.h5");
        std::fs::write(&ints, b.finish().unwrap()).unwrap();
        let back = read_datasets(&ints, &["label"]).unwrap();
        assert_eq!(back[0].values, vec![7.0, -1.0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_dataset_or_a_broken_file_is_named() {
        let dir = std::env::temp_dir().join(format!("caffers-h5-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.h5");
        let data = Dataset {
            shape: vec![1],
            values: vec![1.0],
        };
        write_datasets(&path, &[("data", &data)]).unwrap();
        let e = read_datasets(&path, &["label"]).unwrap_err().to_string();
        assert!(e.contains("a.h5") && e.contains("dataset `label`"), "{e}");
        assert!(e.contains("[data]"), "lists what the file has: {e}");

        let junk = dir.join("junk.h5");
        std::fs::write(&junk, b"not hdf5 at all").unwrap();
        let e = read_datasets(&junk, &["data"]).unwrap_err().to_string();
        assert!(
            e.contains("junk.h5") && e.contains("not a readable HDF5 file"),
            "{e}"
        );

        // Truncations and byte flips of a good file never panic.
        let good = std::fs::read(&path).unwrap();
        for cut in (0..good.len()).step_by(7) {
            std::fs::write(&junk, &good[..cut]).unwrap();
            assert!(read_datasets(&junk, &["data"]).is_err());
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0xff;
            std::fs::write(&junk, &bad).unwrap();
            let _ = read_datasets(&junk, &["data"]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
