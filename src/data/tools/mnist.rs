//! MNIST's IDX files to LMDBs, as Caffe's convert_mnist_data: one raw 1×28×28
//! Datum per image, keys `%08d` of the item index.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::data::feed::datum::Datum;
use crate::data::feed::lmdb::Writer;
use crate::log::info;

use super::bounded::{Bounded, ARCHIVE_LIMIT};
use super::staged::Staged;

/// The four files of the official archive.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// Most a deflate stream expands: 258 bytes from 2 bits, about 1032:1.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Reads a gzip-compressed IDX file: its dimensions and bytes. `limit` keeps
/// only the first items. The size the header claims is checked against what the
/// file can hold before anything is allocated, and decompression is bounded.
pub fn read_idx_gz(
    path: &Path,
    magic: u32,
    limit: Option<usize>,
) -> Result<(Vec<usize>, Vec<u8>), String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let packed = file
        .metadata()
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?
        .len();
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut r = Bounded::new(gz, ARCHIVE_LIMIT);
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
    let claimed = dims
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    let room = packed.saturating_mul(MAX_DEFLATE_RATIO).min(ARCHIVE_LIMIT);
    if claimed > room {
        return Err(format!(
            "`{shown}`: its header claims {dims:?} = {claimed} bytes, more than a {packed}-byte gzip file can hold (at most {room})"
        ));
    }
    if let Some(n) = limit {
        dims[0] = dims[0].min(n);
    }
    let want: usize = dims.iter().product();
    // Grows with the bytes that really arrive, never to what the header claims.
    let mut data = Vec::new();
    r.take(want as u64)
        .read_to_end(&mut data)
        .map_err(|e| format!("`{shown}` cannot be read: {e}"))?;
    if data.len() < want {
        return Err(format!(
            "`{shown}` is truncated: its header claims {dims:?} = {want} bytes but it holds {}",
            data.len()
        ));
    }
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
    if n == 0 || rows == 0 || cols == 0 {
        return Err(format!(
            "`{}` holds no images ({n}×{rows}×{cols})",
            images.display()
        ));
    }
    info(
        "convert_mnist_data.cpp:114",
        &format!("A total of {n} items."),
    );
    info(
        "convert_mnist_data.cpp:115",
        &format!("Rows: {rows} Cols: {cols}"),
    );
    let staged = Staged::new(db)?;
    let mut w = Writer::create(staged.path())?;
    let size = rows * cols;
    for i in 0..n {
        let d = Datum::raw(
            1,
            rows,
            cols,
            pixels[i * size..(i + 1) * size].to_vec(),
            labs[i] as i32,
        );
        w.put(format!("{i:08}"), d.to_bytes())?;
    }
    let count = w.finish()?;
    staged.commit()?;
    info(
        "convert_mnist_data.cpp:153",
        &format!("Processed {count} files."),
    );
    Ok(count)
}

/// Makes `mnist_train_lmdb` and `mnist_test_lmdb` in `out` (those missing) from the
/// folder holding the four IDX .gz files.
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
    for (db, images, labels) in [(&train, FILES[0], FILES[1]), (&test, FILES[2], FILES[3])] {
        // Datasets appear under their final names only when complete (see
        // `staged`), so one left by an interrupted run is kept.
        if crate::data::feed::lmdb::exists(db) {
            info("mnist", &format!("{} exists; kept", db.display()));
            continue;
        }
        convert_split(&from.join(images), &from.join(labels), db, limit)?;
    }
    Ok(vec![train, test])
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// Gzips an IDX header of `dims` followed by `body` into `dir/name`.
    fn idx(dir: &Path, name: &str, magic: u32, dims: &[u32], body: &[u8]) -> PathBuf {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        for word in std::iter::once(magic).chain(dims.iter().copied()) {
            gz.write_all(&word.to_be_bytes()).unwrap();
        }
        gz.write_all(body).unwrap();
        gz.finish().unwrap();
        path
    }

    #[test]
    fn headers_are_checked_against_the_file_before_allocating() {
        let dir = std::env::temp_dir().join(format!("caffers-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ok = idx(&dir, "ok.gz", 2051, &[2, 2, 3], &[1; 12]);
        let (dims, data) = read_idx_gz(&ok, 2051, None).unwrap();
        assert_eq!((dims, data.len()), (vec![2, 2, 3], 12));
        assert_eq!(read_idx_gz(&ok, 2051, Some(1)).unwrap().1.len(), 6);
        for dims in [[1 << 31, 28, 28], [65536, 65536, 65536], [u32::MAX; 3]] {
            let p = idx(&dir, "huge.gz", 2051, &dims, &[0; 100]);
            let e = read_idx_gz(&p, 2051, None).unwrap_err();
            assert!(e.contains("header claims"), "{e}");
        }
        let short = idx(&dir, "short.gz", 2049, &[10], &[0; 9]);
        let e = read_idx_gz(&short, 2049, None).unwrap_err();
        assert!(e.contains("truncated") && e.contains("holds 9"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
