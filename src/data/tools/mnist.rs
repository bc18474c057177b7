//! MNIST's IDX files to LMDBs, as Caffe's convert_mnist_data: one raw 1×28×28
//! Datum per image, keys `%08d` of the item index.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::data::feed::datum::Datum;
use crate::data::feed::lmdb::Writer;
use crate::log::info;

/// The four files of the official archive.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// Reads a gzip-compressed IDX file: its dimensions and bytes. `limit` keeps
/// only the first items.
pub fn read_idx_gz(
    path: &Path,
    magic: u32,
    limit: Option<usize>,
) -> Result<(Vec<usize>, Vec<u8>), String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let mut r = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut word = [0u8; 4];
    let mut read_u32 = |r: &mut dyn Read| -> Result<u32, String> {
        r.read_exact(&mut word)
            .map_err(|e| format!("`{shown}` is not a gzip IDX file: {e}"))?;
        Ok(u32::from_be_bytes(word))
    };
    let m = read_u32(&mut r)?;
    if m != magic {
        return Err(format!(
            "`{shown}`: wrong IDX magic number {m} (expected {magic})"
        ));
    }
    let ndims = if magic == 2051 { 3 } else { 1 };
    let mut dims = Vec::new();
    for _ in 0..ndims {
        dims.push(read_u32(&mut r)? as usize);
    }
    if let Some(n) = limit {
        dims[0] = dims[0].min(n);
    }
    let mut data = vec![0u8; dims.iter().product()];
    r.read_exact(&mut data)
        .map_err(|e| format!("`{shown}` is truncated: {e}"))?;
    Ok((dims, data))
}

/// Converts one split (images + labels) into a new LMDB; returns the item count.
pub fn convert_split(
    images: &Path,
    labels: &Path,
    db: &Path,
    limit: Option<usize>,
) -> Result<usize, String> {
    let (idims, pixels) = read_idx_gz(images, 2051, limit)?;
    let (ldims, labs) = read_idx_gz(labels, 2049, limit)?;
    if idims[0] != ldims[0] {
        return Err(format!(
            "`{}` holds {} images but `{}` holds {} labels",
            images.display(),
            idims[0],
            labels.display(),
            ldims[0]
        ));
    }
    let (n, rows, cols) = (idims[0], idims[1], idims[2]);
    info(
        "convert_mnist_data.cpp:114",
        &format!("A total of {n} items."),
    );
    info(
        "convert_mnist_data.cpp:115",
        &format!("Rows: {rows} Cols: {cols}"),
    );
    let mut w = Writer::create(db)?;
    let size = rows * cols;
    for i in 0..n {
        let d = Datum::raw(
            1,
            rows,
            cols,
            pixels[i * size..(i + 1) * size].to_vec(),
            labs[i] as i32,
        );
        w.put(&format!("{i:08}"), d.to_bytes())?;
    }
    let count = w.finish()?;
    info(
        "convert_mnist_data.cpp:153",
        &format!("Processed {count} files."),
    );
    Ok(count)
}

/// Makes `mnist_train_lmdb` and `mnist_test_lmdb` in `out` from the folder holding
/// the four IDX .gz files.
pub fn convert(from: &Path, out: &Path, limit: Option<usize>) -> Result<Vec<PathBuf>, String> {
    for f in FILES {
        if !from.join(f).is_file() {
            return Err(format!(
                "`{}` has no `{f}` (MNIST's four IDX .gz files are needed)",
                from.display()
            ));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
    let train = out.join("mnist_train_lmdb");
    let test = out.join("mnist_test_lmdb");
    convert_split(&from.join(FILES[0]), &from.join(FILES[1]), &train, limit)?;
    convert_split(&from.join(FILES[2]), &from.join(FILES[3]), &test, limit)?;
    Ok(vec![train, test])
}
