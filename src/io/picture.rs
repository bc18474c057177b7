//! Writing a C×H×W array as a picture file (PNG or JPEG, by the file's extension):
//! the inverse of the decoder in `data::feed::image`, so colour planes are in
//! OpenCV's B, G, R order, as Caffe's tools and that decoder hold them.

use std::path::Path;

use crate::error::{Error, Result};

/// Writes one grey (1 plane) or colour (3 planes, B G R) image of `height`×`width`.
/// Values are pixel values: rounded, and clipped to 0–255 (NaN becomes 0).
pub fn write_picture(
    path: &Path,
    channels: usize,
    height: usize,
    width: usize,
    planes: &[f32],
) -> Result<()> {
    let fail = |message: String| Error::File {
        file: path.display().to_string(),
        message,
    };
    if channels != 1 && channels != 3 {
        return Err(fail(format!(
            "a picture has 1 (grey) or 3 (colour) channels, not {channels}"
        )));
    }
    let plane = height * width;
    if planes.len() != channels * plane {
        return Err(fail(format!(
            "{} values do not make a {channels}×{height}×{width} picture",
            planes.len()
        )));
    }
    let (w, h) = match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(fail(format!("cannot write a {height}×{width} picture"))),
    };
    let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let picture = if channels == 1 {
        let grey = planes.iter().map(|&v| byte(v)).collect();
        image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, grey).expect("sized"))
    } else {
        // Interleave as R, G, B from planes B, G, R.
        let mut rgb = Vec::with_capacity(3 * plane);
        for i in 0..plane {
            rgb.extend([2, 1, 0].map(|c| byte(planes[c * plane + i])));
        }
        image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb).expect("sized"))
    };
    picture
        .save(path)
        .map_err(|e| fail(format!("cannot write the picture: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("caffers_picture_{}_{name}", std::process::id()))
    }

    #[test]
    fn colour_planes_are_bgr_and_values_are_rounded_and_clipped() {
        let path = temp("c.png");
        // One pixel per plane: B = 300 (→255), G = 1.6 (→2), R = −4 (→0).
        write_picture(&path, 3, 1, 1, &[300.0, 1.6, -4.0]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [0, 2, 255]);
    }

    #[test]
    fn grey_pictures_keep_their_layout() {
        let path = temp("g.png");
        write_picture(&path, 1, 2, 3, &[0.0, 10.0, 20.0, 30.0, 40.0, f32::NAN]).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        std::fs::remove_file(&path).unwrap();
        assert_eq!((img.width(), img.height()), (3, 2));
        assert_eq!(img.into_raw(), vec![0, 10, 20, 30, 40, 0]);
    }

    #[test]
    fn bad_shapes_and_extensions_are_errors() {
        let path = temp("x.png");
        let e = write_picture(&path, 2, 1, 1, &[0.0, 0.0]).unwrap_err();
        assert!(e.to_string().contains("not 2"), "{e}");
        let e = write_picture(&path, 1, 2, 2, &[0.0]).unwrap_err();
        assert!(
            e.to_string().contains("1 values do not make a 1×2×2"),
            "{e}"
        );
        let e = write_picture(&temp("x.unknown"), 1, 1, 1, &[0.0]).unwrap_err();
        assert!(e.to_string().contains("cannot write the picture"), "{e}");
    }
}
