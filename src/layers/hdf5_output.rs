//! HDF5Output: writes its two bottoms to `hdf5_output_param.file_name` as the
//! datasets `data` and `label` (Caffe's HDF5_DATA_DATASET_NAME / _LABEL_NAME).
//!
//! Caffe's layer writes the datasets once per forward into a file it truncated at
//! set-up, which fails from the second batch on (the datasets exist). Here every
//! forward appends its batch to the rows kept so far and the whole file is replaced
//! atomically, so after N forwards the file holds the N batches, readable by
//! HDF5Data, and a crash never leaves half a file. No backward (as Caffe).

use std::path::PathBuf;

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::io::hdf5::{write_datasets, Dataset};
use crate::proto::LayerParameter;
use crate::shape::Shape;

pub struct HDF5Output {
    file: PathBuf,
    data: Dataset,
    label: Dataset,
}

impl HDF5Output {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let file = param.hdf5_output_param().file_name().to_string();
        if file.is_empty() {
            return Err("hdf5_output_param.file_name is required".into());
        }
        let empty = || Dataset {
            shape: Vec::new(),
            values: Vec::new(),
        };
        Ok(HDF5Output {
            file: PathBuf::from(file),
            data: empty(),
            label: empty(),
        })
    }
}

/// Appends `blob`'s rows (first axis) to `ds`, which takes the blob's row shape.
fn append_rows(ds: &mut Dataset, blob: &Blob) -> Result<(), String> {
    if ds.shape.is_empty() {
        ds.shape = blob.shape.clone();
        ds.shape[0] = 0;
    }
    if ds.shape[1..] != blob.shape[1..] {
        return Err(format!(
            "rows of shape {:?} cannot follow the {:?} rows already written",
            &blob.shape[1..],
            &ds.shape[1..]
        ));
    }
    ds.shape[0] += blob.shape[0];
    ds.values.extend_from_slice(&blob.data);
    Ok(())
}

impl Layer for HDF5Output {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(2, 0)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        for (i, s) in bottoms.iter().enumerate() {
            if s.is_empty() {
                return Err(format!("bottom {i} is a scalar; rows need a first axis"));
            }
        }
        if bottoms[0][0] != bottoms[1][0] {
            return Err(format!(
                "data has {} rows but label has {}; they are written side by side",
                bottoms[0][0], bottoms[1][0]
            ));
        }
        Ok(Vec::new())
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        _: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        append_rows(&mut self.data, bottoms[0])?;
        append_rows(&mut self.label, bottoms[1])?;
        write_datasets(
            &self.file,
            &[("data", &self.data), ("label", &self.label)],
        )
        .map_err(|e| e.to_string())
    }

    fn allow_force_backward(&self, _bottom: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::blob::Blob;
    use crate::io::hdf5::read_datasets;
    use crate::layers::testing::layer_param;
    use crate::layers::{create, BuildContext, RunContext};
    use crate::proto::Phase;

    #[test]
    fn each_forward_appends_its_batch_to_the_file() {
        let dir = std::env::temp_dir().join(format!("caffers-h5out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out.h5");
        let param = layer_param(&format!(
            r#"name: "out" type: "HDF5Output" bottom: "d" bottom: "l"
               hdf5_output_param {{ file_name: "{}" }}"#,
            file.display()
        ));
        let mut layer = create(&param, &BuildContext::default()).unwrap();
        assert!(layer.reshape(&[vec![2, 3], vec![2]]).unwrap().is_empty());
        let mut rng = crate::rng::Rng::new(1);
        for batch in 0..2 {
            let d = Blob::from_data(&[2, 3], (0..6).map(|i| (batch * 6 + i) as f32).collect());
            let l = Blob::from_data(&[2], vec![batch as f32; 2]);
            let mut ctx = RunContext {
                phase: Phase::Test,
                rng: &mut rng,
                param_propagate: &[],
            };
            layer.forward(&[&d, &l], &mut [], &mut [], &mut ctx).unwrap();
        }
        let back = read_datasets(&file, &["data", "label"]).unwrap();
        assert_eq!(back[0].shape, vec![4, 3]);
        assert_eq!(back[0].values, (0..12).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(back[1].values, vec![0.0, 0.0, 1.0, 1.0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
