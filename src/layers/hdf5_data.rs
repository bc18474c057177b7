//! HDF5Data: rows of the datasets named after its tops, from the .h5 files listed
//! (one path per line) in `hdf5_data_param.source`.
//!
//! As Caffe's HDF5DataLayer: every top's dataset in a file has the same number of
//! rows (first axis); a top's shape is batch_size × the dataset's other axes; rows
//! are read in order, moving to the next file at the end of one and wrapping to the
//! first file after the last. With `shuffle`, the file order is shuffled at set-up
//! and at each wrap, and the row order of each file when it is loaded. No
//! transform_param (Caffe ignores it here too). One file is in memory at a time.

use std::path::{Path, PathBuf};

use super::data::layer_seed;
use super::{data_shapes, BlobCounts, BuildContext, Layer, RunContext};
use crate::blob::Blob;
use crate::data::feed::image_list::shuffle;
use crate::io::hdf5::{read_datasets, Dataset};
use crate::log::info;
use crate::proto::LayerParameter;
use crate::rng::Rng;
use crate::shape::Shape;

struct Reader {
    tops: Vec<String>,
    files: Vec<PathBuf>,
    /// Position in `files` of the file loaded now.
    file: usize,
    /// That file's datasets, one per top.
    loaded: Vec<Dataset>,
    rows: usize,
    /// Row order of the loaded file (identity unless shuffling).
    order: Vec<usize>,
    row: usize,
    shuffle: bool,
    rng: Rng,
}

pub struct HDF5Data {
    shapes: Vec<Shape>,
    batch_size: usize,
    reader: Option<Reader>,
    no_reader: String,
}

/// The .h5 paths listed in `source`, one per line (blank lines skipped; relative
/// paths as written, as Caffe opens them).
fn read_file_list(source: &Path) -> Result<Vec<PathBuf>, String> {
    let text = std::fs::read_to_string(source)
        .map_err(|e| format!("cannot read the HDF5 file list `{}`: {e}", source.display()))?;
    let files: Vec<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        return Err(format!(
            "the HDF5 file list `{}` names no file",
            source.display()
        ));
    }
    Ok(files)
}

impl Reader {
    /// Loads `files[self.file]`, checking its datasets agree on the row count and
    /// keep the shapes fixed at set-up (`want`, per row).
    fn load(&mut self, want: Option<&[Shape]>) -> Result<(), String> {
        let path = &self.files[self.file];
        let names: Vec<&str> = self.tops.iter().map(String::as_str).collect();
        let loaded = read_datasets(path, &names).map_err(|e| e.to_string())?;
        let rows = loaded[0].shape[0];
        for (ds, name) in loaded.iter().zip(&self.tops) {
            if ds.shape[0] != rows {
                return Err(format!(
                    "{}: dataset `{name}` has {} rows but `{}` has {rows}; every top's dataset needs the same number",
                    path.display(),
                    ds.shape[0],
                    self.tops[0]
                ));
            }
        }
        if rows == 0 {
            return Err(format!("{}: the datasets have no rows", path.display()));
        }
        if let Some(want) = want {
            for ((ds, name), w) in loaded.iter().zip(&self.tops).zip(want) {
                if ds.shape[1..] != w[1..] {
                    return Err(format!(
                        "{}: dataset `{name}` has rows of shape {:?}, but the first file's are {:?}",
                        path.display(),
                        &ds.shape[1..],
                        &w[1..]
                    ));
                }
            }
        }
        info(
            "hdf5_data_layer.cpp:76",
            &format!("Successfully loaded {rows} rows"),
        );
        self.order = (0..rows).collect();
        if self.shuffle {
            shuffle(&mut self.order, &mut self.rng);
        }
        self.loaded = loaded;
        self.rows = rows;
        self.row = 0;
        Ok(())
    }

    /// Moves to the next row, loading the next file (or wrapping) at the end of one.
    fn advance(&mut self, shapes: &[Shape]) -> Result<(), String> {
        self.row += 1;
        if self.row < self.rows {
            return Ok(());
        }
        if self.files.len() > 1 {
            self.file += 1;
            if self.file == self.files.len() {
                self.file = 0;
                if self.shuffle {
                    shuffle(&mut self.files, &mut self.rng);
                }
                info("hdf5_data_layer.cpp:140", "Looping around to first file.");
            }
            self.load(Some(shapes))
        } else {
            self.row = 0;
            if self.shuffle {
                shuffle(&mut self.order, &mut self.rng);
            }
            Ok(())
        }
    }
}

impl HDF5Data {
    pub fn new(param: &LayerParameter, ctx: &BuildContext) -> Result<Self, String> {
        let p = param.hdf5_data_param();
        let source = p.source().to_string();
        let batch_size = p.batch_size() as usize;
        let given = data_shapes::from_context(param, ctx);
        if ctx.external_data {
            if let Some(shapes) = given {
                return Ok(HDF5Data {
                    shapes,
                    batch_size,
                    reader: None,
                    no_reader: "this HDF5Data layer's tops are filled from outside".into(),
                });
            }
        }
        if source.is_empty() || !Path::new(&source).exists() {
            let shapes = given.ok_or_else(|| data_shapes::missing_source(param, &source))?;
            return Ok(HDF5Data {
                shapes,
                batch_size,
                reader: None,
                no_reader: data_shapes::missing_source(param, &source),
            });
        }
        if batch_size == 0 {
            return Err("hdf5_data_param.batch_size must be positive".into());
        }
        if param.top.is_empty() {
            return Err("HDF5Data needs at least one top (each names a dataset)".into());
        }
        let mut files = read_file_list(Path::new(&source))?;
        info(
            "hdf5_data_layer.cpp:107",
            &format!("Number of HDF5 files: {}", files.len()),
        );
        let mut rng = Rng::new(layer_seed(param.name(), ctx.phase()) ^ 0x4df5);
        if p.shuffle() {
            shuffle(&mut files, &mut rng);
        }
        let mut reader = Reader {
            tops: param.top.clone(),
            files,
            file: 0,
            loaded: Vec::new(),
            rows: 0,
            order: Vec::new(),
            row: 0,
            shuffle: p.shuffle(),
            rng,
        };
        reader.load(None)?;
        let shapes: Vec<Shape> = reader
            .loaded
            .iter()
            .map(|ds| {
                let mut s = ds.shape.clone();
                s[0] = batch_size;
                s
            })
            .collect();
        for (top, s) in param.top.iter().zip(&shapes) {
            info(
                "hdf5_data_layer.cpp:121",
                &format!("output {top} size: {s:?}"),
            );
        }
        Ok(HDF5Data {
            shapes,
            batch_size,
            reader: Some(reader),
            no_reader: String::new(),
        })
    }
}

impl Layer for HDF5Data {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, usize::MAX))
    }

    fn reshape(&mut self, _bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(self.shapes.clone())
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let Some(r) = self.reader.as_mut() else {
            return Err(self.no_reader.clone());
        };
        for item in 0..self.batch_size {
            let row = r.order[r.row];
            for (top, ds) in tops.iter_mut().zip(&r.loaded) {
                let per_row = ds.values.len() / r.rows;
                top.data[item * per_row..(item + 1) * per_row]
                    .copy_from_slice(&ds.values[row * per_row..(row + 1) * per_row]);
            }
            r.advance(&self.shapes)?;
        }
        Ok(())
    }

    fn skip_batches(&mut self, batches: u64) {
        let shapes = self.shapes.clone();
        if let Some(r) = self.reader.as_mut() {
            for _ in 0..batches.saturating_mul(self.batch_size as u64) {
                if r.advance(&shapes).is_err() {
                    // The next forward reports the unreadable file.
                    return;
                }
            }
        }
    }

    fn allow_force_backward(&self, _bottom: usize) -> bool {
        false
    }

    fn is_source(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::io::hdf5::{write_datasets, Dataset};
    use crate::layers::testing::layer_param;
    use crate::layers::{create, BuildContext, RunContext};
    use crate::blob::Blob;
    use crate::proto::Phase;

    fn write(dir: &std::path::Path, name: &str, first: f32, rows: usize) -> String {
        let data = Dataset {
            shape: vec![rows, 2],
            values: (0..rows * 2).map(|i| first + i as f32).collect(),
        };
        let label = Dataset {
            shape: vec![rows],
            values: (0..rows).map(|i| first + i as f32).collect(),
        };
        let path = dir.join(name);
        write_datasets(&path, &[("data", &data), ("label", &label)]).unwrap();
        path.display().to_string()
    }

    fn forward(layer: &mut Box<dyn crate::layers::Layer>, tops: &mut [Blob]) {
        let mut rng = crate::rng::Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Train,
            rng: &mut rng,
            param_propagate: &[],
        };
        layer.forward(&[], tops, &mut [], &mut ctx).unwrap();
    }

    #[test]
    fn rows_are_read_in_order_across_files_and_wrap() {
        let dir = std::env::temp_dir().join(format!("caffers-h5data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = write(&dir, "a.h5", 0.0, 3);
        let b = write(&dir, "b.h5", 100.0, 2);
        let list = dir.join("list.txt");
        std::fs::write(&list, format!("{a}\n\n{b}\n")).unwrap();
        let param = layer_param(&format!(
            r#"name: "d" type: "HDF5Data" top: "data" top: "label"
               hdf5_data_param {{ source: "{}" batch_size: 4 }}"#,
            list.display()
        ));
        let mut layer = create(&param, &BuildContext::default()).unwrap();
        let shapes = layer.reshape(&[]).unwrap();
        assert_eq!(shapes, vec![vec![4, 2], vec![4]]);
        let mut tops: Vec<Blob> = shapes.iter().map(|s| Blob::new(s)).collect();
        forward(&mut layer, &mut tops);
        assert_eq!(tops[1].data, vec![0.0, 1.0, 2.0, 100.0]);
        assert_eq!(tops[0].data[6..8], [100.0, 101.0]);
        forward(&mut layer, &mut tops);
        assert_eq!(tops[1].data, vec![101.0, 0.0, 1.0, 2.0], "wraps to the first file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_whose_rows_disagree_are_refused_naming_the_dataset() {
        let dir = std::env::temp_dir().join(format!("caffers-h5rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.h5");
        let data = Dataset {
            shape: vec![3, 1],
            values: vec![1.0; 3],
        };
        let label = Dataset {
            shape: vec![2],
            values: vec![0.0; 2],
        };
        write_datasets(&path, &[("data", &data), ("label", &label)]).unwrap();
        let list = dir.join("list.txt");
        std::fs::write(&list, path.display().to_string()).unwrap();
        let param = layer_param(&format!(
            r#"name: "d" type: "HDF5Data" top: "data" top: "label"
               hdf5_data_param {{ source: "{}" batch_size: 2 }}"#,
            list.display()
        ));
        let e = create(&param, &BuildContext::default()).err().unwrap();
        assert!(e.contains("bad.h5") && e.contains("`label` has 2 rows"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
