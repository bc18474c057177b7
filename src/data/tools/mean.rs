//! The mean image of an LMDB or LevelDB of Datums, as Caffe's compute_image_mean.

use std::path::Path;

use crate::data::feed::datum::Datum;
use crate::data::feed::image::ColorMode;
use crate::log::info;

/// The per-pixel mean of every record: (channels, height, width, values).
pub fn compute_mean(db: &Path) -> Result<(usize, usize, usize, Vec<f32>), String> {
    let mut sum: Vec<f64> = Vec::new();
    let mut chw = (0, 0, 0);
    let mut count = 0usize;
    // Which kind of database is told by its files (data.mdb or CURRENT), so a
    // LevelDB needs no flag.
    let for_each = if crate::data::feed::leveldb::exists(db) {
        crate::data::feed::leveldb::for_each
    } else {
        crate::data::feed::lmdb::for_each
    };
    for_each(db, &mut |key: &str, value: &[u8]| {
        let img = Datum::parse(value, key)
            .map_err(|e| format!("`{}`: {e}", db.display()))?
            .to_image(ColorMode::Native)
            .map_err(|e| format!("`{}`, record `{key}`: {e}", db.display()))?;
        let this = (img.channels, img.height, img.width);
        if count == 0 {
            chw = this;
            sum = vec![0.0; img.values.len()];
        } else if this != chw {
            return Err(format!(
                "`{}`: record `{key}` is {}×{}×{} but the first was {}×{}×{}; a mean needs equal sizes",
                db.display(),
                this.0, this.1, this.2, chw.0, chw.1, chw.2
            ));
        }
        sum.iter_mut()
            .zip(&img.values)
            .for_each(|(s, &v)| *s += v as f64);
        count += 1;
        if count.is_multiple_of(10000) {
            info(
                "compute_image_mean.cpp:94",
                &format!("Processed {count} files."),
            );
        }
        Ok(true)
    })?;
    if count == 0 {
        return Err(format!("LMDB `{}` holds no records", db.display()));
    }
    let mean = sum.iter().map(|s| (s / count as f64) as f32).collect();
    Ok((chw.0, chw.1, chw.2, mean))
}

/// Computes the mean of `db` and writes it to `out` (a .binaryproto), logging the
/// per-channel means as Caffe does.
pub fn compute_mean_file(db: &Path, out: &Path) -> Result<(), String> {
    let (c, h, w, mean) = compute_mean(db)?;
    info(
        "compute_image_mean.cpp:108",
        &format!("Write to {}", out.display()),
    );
    // One file: the atomic writer (temporary file, then rename) is the staging.
    crate::data::feed::mean_file::write(out, c, h, w, &mean)?;
    let dim = h * w;
    for k in 0..c {
        let m: f64 = mean[k * dim..(k + 1) * dim]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>()
            / dim as f64;
        info(
            "compute_image_mean.cpp:119",
            &format!("mean_value channel [{k}]: {m}"),
        );
    }
    Ok(())
}
