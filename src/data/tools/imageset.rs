//! An image list to an LMDB of Datums, as Caffe's convert_imageset: keys
//! `%08d_path`, raw BGR (or grey) C×H×W pixels, or the encoded file bytes.

use std::path::Path;

use crate::data::feed::datum::Datum;
use crate::data::feed::image::{hwc_to_image, read_file_hwc};
use crate::data::feed::image_list::{read_list, shuffle};
use crate::data::feed::lmdb::Writer;
use crate::log::info;

use super::staged::Staged;

#[derive(Debug, Clone, Default)]
pub struct ImagesetOptions {
    /// Read images as grey (1 channel).
    pub gray: bool,
    /// Shuffle the list (seeded) before writing.
    pub shuffle: bool,
    pub resize_height: usize,
    pub resize_width: usize,
    /// Require every image to have the first one's size.
    pub check_size: bool,
    /// Store the encoded image: the file itself, or PNG/JPEG when resized.
    pub encoded: bool,
    /// `png` or `jpg`/`jpeg` for re-encoded images (default: the file's type).
    pub encode_type: String,
    pub seed: u64,
}

/// Converts `list` (paths relative to `root`) into a new LMDB at `db`; returns
/// the number of records written.
pub fn convert_imageset(
    root: &str,
    list: &Path,
    db: &Path,
    opts: &ImagesetOptions,
) -> Result<usize, String> {
    let mut lines = read_list(list)?;
    if opts.shuffle {
        info("convert_imageset.cpp:86", "Shuffling data");
        shuffle(&mut lines, &mut crate::rng::Rng::new(opts.seed));
    }
    info(
        "convert_imageset.cpp:89",
        &format!("A total of {} images.", lines.len()),
    );
    let resize = opts.resize_height > 0 && opts.resize_width > 0;
    let staged = Staged::new(db)?;
    let mut w = Writer::create(staged.path())?;
    let mut first_size: Option<usize> = None;
    for (i, (file, label)) in lines.iter().enumerate() {
        let path = Path::new(root).join(file);
        let path = if root.is_empty() {
            Path::new(file).to_path_buf()
        } else {
            path
        };
        let datum = if opts.encoded && !resize && opts.encode_type.is_empty() {
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            Datum::encoded_image(bytes, *label)
        } else {
            let (c, h, wd, hwc) =
                read_file_hwc(&path, opts.resize_height, opts.resize_width, !opts.gray)?;
            if opts.encoded {
                encode(&path, c, h, wd, &hwc, &opts.encode_type, *label)?
            } else {
                let img = hwc_to_image(c, h, wd, &hwc);
                let bytes = img.values.iter().map(|&v| v as u8).collect();
                Datum::raw(c, h, wd, bytes, *label)
            }
        };
        if opts.check_size && !datum.is_encoded() {
            let size = datum.data.as_ref().map(Vec::len).unwrap_or(0);
            match first_size {
                None => first_size = Some(size),
                Some(s) if s != size => {
                    return Err(format!(
                        "`{}` has {size} values but the first image has {s}",
                        path.display()
                    ))
                }
                _ => {}
            }
        }
        w.put(format!("{i:08}_{file}"), datum.to_bytes())?;
        if (i + 1) % 1000 == 0 {
            info(
                "convert_imageset.cpp:144",
                &format!("Processed {} files.", i + 1),
            );
        }
    }
    let count = w.finish()?;
    staged.commit()?;
    Ok(count)
}

/// Re-encodes BGR/grey interleaved pixels as PNG or JPEG.
fn encode(
    path: &Path,
    c: usize,
    h: usize,
    w: usize,
    hwc: &[u8],
    kind: &str,
    label: i32,
) -> Result<Datum, String> {
    let kind = if kind.is_empty() {
        path.extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    } else {
        kind.to_lowercase()
    };
    let format = match kind.as_str() {
        "jpg" | "jpeg" => image::ImageFormat::Jpeg,
        "png" => image::ImageFormat::Png,
        other => return Err(format!("cannot encode images as `{other}`; use png or jpg")),
    };
    let img: image::DynamicImage = if c == 1 {
        image::GrayImage::from_raw(w as u32, h as u32, hwc.to_vec())
            .ok_or("bad image buffer")?
            .into()
    } else {
        let mut rgb = hwc.to_vec();
        rgb.chunks_exact_mut(3).for_each(|p| p.swap(0, 2));
        image::RgbImage::from_raw(w as u32, h as u32, rgb)
            .ok_or("bad image buffer")?
            .into()
    };
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .map_err(|e| format!("cannot encode `{}`: {e}", path.display()))?;
    Ok(Datum::encoded_image(bytes, label))
}
