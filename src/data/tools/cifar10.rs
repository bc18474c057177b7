//! CIFAR-10's binary archive to LMDBs and a mean file, as Caffe's
//! convert_cifar_data plus compute_image_mean (create_cifar10.sh): raw 3×32×32
//! Datums (the file's R, G, B planes as stored), train keys `%05d` of
//! `batch·10000 + item` over data_batch_1..5, test keys `%05d` of the item.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::data::feed::datum::Datum;
use crate::data::feed::lmdb::Writer;
use crate::log::info;

use super::bounded::{Bounded, ARCHIVE_LIMIT};
use super::staged::Staged;

const RECORD: usize = 1 + 3 * 32 * 32;
const BATCH: usize = 10000;

/// The batch files of the archive (`…/data_batch_1.bin` … `test_batch.bin`), in
/// memory; `limit` keeps the first records of each.
pub fn read_archive(
    archive: &Path,
    limit: Option<usize>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let shown = archive.display();
    let file = std::fs::File::open(archive).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut tar = tar::Archive::new(Bounded::new(gz, ARCHIVE_LIMIT));
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let bad = |e: std::io::Error| format!("`{shown}` is not a readable .tar.gz: {e}");
    for entry in tar.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let name = entry
            .path()
            .map_err(bad)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wanted =
            (1..=5).any(|i| name == format!("data_batch_{i}.bin")) || name == "test_batch.bin";
        if !wanted {
            continue;
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("`{shown}` holds {name} twice"));
        }
        // A batch file holds 10000 records; its header's size is not trusted.
        let whole = (BATCH * RECORD) as u64;
        if entry.size() > whole {
            return Err(format!(
                "`{shown}`: {name} claims {} bytes, more than a CIFAR-10 batch ({whole})",
                entry.size()
            ));
        }
        let max = limit.map_or(whole, |n| whole.min(n.saturating_mul(RECORD) as u64));
        let mut bytes = Vec::new();
        entry.take(max).read_to_end(&mut bytes).map_err(bad)?;
        if bytes.len() % RECORD != 0 {
            return Err(format!(
                "`{shown}`: {name} is not a whole number of {RECORD}-byte records"
            ));
        }
        out.push((name, bytes));
    }
    Ok(out)
}

fn write_records(db: &Path, files: &[(&[u8], usize)]) -> Result<usize, String> {
    let staged = Staged::new(db)?;
    let mut w = Writer::create(staged.path())?;
    for (bytes, first_key) in files {
        for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
            let d = Datum::raw(3, 32, 32, rec[1..].to_vec(), rec[0] as i32);
            w.put(format!("{:05}", first_key + i), d.to_bytes())?;
        }
    }
    let count = w.finish()?;
    staged.commit()?;
    Ok(count)
}

/// Makes `cifar10_train_lmdb`, `cifar10_test_lmdb` (those missing) and
/// `mean.binaryproto` in `out`.
pub fn convert(archive: &Path, out: &Path, limit: Option<usize>) -> Result<Vec<PathBuf>, String> {
    let files = read_archive(archive, limit)?;
    let (train_db, test_db) = write_databases(archive, &files, out)?;
    // The archive's ~180 MB are freed before the mean pass maps the whole train
    // LMDB, so preparing data inside `caffers train` does not raise its peak RSS.
    drop(files);
    let mean = out.join("mean.binaryproto");
    super::mean::compute_mean_file(&train_db, &mean)?;
    Ok(vec![train_db, test_db, mean])
}

/// Writes `cifar10_train_lmdb` and `cifar10_test_lmdb` in `out` from the batch files.
fn write_databases(
    archive: &Path,
    files: &[(String, Vec<u8>)],
    out: &Path,
) -> Result<(PathBuf, PathBuf), String> {
    let find = |name: &str| -> Result<&[u8], String> {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .ok_or_else(|| {
                format!(
                    "`{}` has no {name} (is it cifar-10-binary.tar.gz?)",
                    archive.display()
                )
            })
    };
    let mut train_files = Vec::new();
    for i in 1..=5 {
        train_files.push((find(&format!("data_batch_{i}.bin"))?, (i - 1) * BATCH));
    }
    let test = find("test_batch.bin")?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
    let train_db = out.join("cifar10_train_lmdb");
    let test_db = out.join("cifar10_test_lmdb");
    // Datasets appear under their final names only when complete (see `staged`),
    // so one left by an interrupted run is kept.
    let kept = |db: &Path| {
        let exists = crate::data::feed::lmdb::exists(db);
        if exists {
            info("cifar10", &format!("{} exists; kept", db.display()));
        }
        exists
    };
    if !kept(&train_db) {
        info("convert_cifar_data.cpp:53", "Writing Training data");
        write_records(&train_db, &train_files)?;
    }
    if !kept(&test_db) {
        info("convert_cifar_data.cpp:77", "Writing Testing data");
        write_records(&test_db, &[(test, 0)])?;
    }
    Ok((train_db, test_db))
}
