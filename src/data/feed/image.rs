//! Images as Caffe's tools see them through OpenCV: decoded to BGR (or grey),
//! stored C×H×W, resized with bilinear interpolation.

/// A C×H×W image of f32 values (pixel values 0–255 for decoded images).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f32>,
}

/// How to decode: as stored (grey stays grey, colour becomes BGR; OpenCV's
/// IMREAD_ANYCOLOR), forced 3-channel colour, or forced grey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Native,
    Color,
    Gray,
}

/// Decodes JPEG/PNG bytes to interleaved 8-bit pixels: (channels, height, width, HWC bytes).
pub fn decode_hwc(bytes: &[u8], mode: ColorMode) -> Result<(usize, usize, usize, Vec<u8>), String> {
    let img = image::load_from_memory(bytes).map_err(|e| format!("cannot decode image: {e}"))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let is_gray = matches!(
        img.color(),
        image::ColorType::L8
            | image::ColorType::L16
            | image::ColorType::La8
            | image::ColorType::La16
    );
    let gray = match mode {
        ColorMode::Gray => true,
        ColorMode::Color => false,
        ColorMode::Native => is_gray,
    };
    if gray {
        if is_gray {
            return Ok((1, h, w, img.to_luma8().into_raw()));
        }
        // OpenCV's BGR→grey weights (fixed point, as cvtColor).
        let rgb = img.to_rgb8().into_raw();
        let g = rgb
            .chunks_exact(3)
            .map(|p| {
                ((p[0] as u32 * 4899 + p[1] as u32 * 9617 + p[2] as u32 * 1868 + 8192) >> 14) as u8
            })
            .collect();
        return Ok((1, h, w, g));
    }
    let mut bgr = img.to_rgb8().into_raw();
    bgr.chunks_exact_mut(3).for_each(|p| p.swap(0, 2));
    Ok((3, h, w, bgr))
}

/// Interleaved H×W×C bytes to a C×H×W image.
pub fn hwc_to_image(c: usize, h: usize, w: usize, hwc: &[u8]) -> Image {
    let mut values = vec![0.0; c * h * w];
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                values[(k * h + y) * w + x] = hwc[(y * w + x) * c + k] as f32;
            }
        }
    }
    Image {
        channels: c,
        height: h,
        width: w,
        values,
    }
}

/// Decodes JPEG/PNG bytes to a C×H×W image.
pub fn decode(bytes: &[u8], mode: ColorMode) -> Result<Image, String> {
    let (c, h, w, hwc) = decode_hwc(bytes, mode)?;
    Ok(hwc_to_image(c, h, w, &hwc))
}

/// Bilinear resize of interleaved 8-bit pixels with OpenCV's INTER_LINEAR
/// geometry (pixel centres aligned, edges clamped), rounded to bytes.
pub fn resize_hwc(c: usize, h: usize, w: usize, src: &[u8], nh: usize, nw: usize) -> Vec<u8> {
    if (nh, nw) == (h, w) {
        return src.to_vec();
    }
    let axis = |out: usize, len: usize| -> Vec<(usize, usize, f32)> {
        let scale = len as f32 / out as f32;
        (0..out)
            .map(|i| {
                let f = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (f.floor() as usize).min(len - 1);
                let i1 = (i0 + 1).min(len - 1);
                (i0, i1, f - i0 as f32)
            })
            .collect()
    };
    let ys = axis(nh, h);
    let xs = axis(nw, w);
    let mut out = vec![0u8; nh * nw * c];
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            for k in 0..c {
                let p = |y: usize, x: usize| src[(y * w + x) * c + k] as f32;
                let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                let v = top * (1.0 - fy) + bottom * fy;
                out[(oy * nw + ox) * c + k] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// Reads an image file as Caffe's ReadImageToCVMat: colour (BGR) or grey, resized
/// to `new_h`×`new_w` when both are non-zero. Returns interleaved bytes.
pub fn read_file_hwc(
    path: &std::path::Path,
    new_h: usize,
    new_w: usize,
    is_color: bool,
) -> Result<(usize, usize, usize, Vec<u8>), String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read image `{}`: {e}", path.display()))?;
    let mode = if is_color {
        ColorMode::Color
    } else {
        ColorMode::Gray
    };
    let (c, h, w, hwc) =
        decode_hwc(&bytes, mode).map_err(|e| format!("{}: {e}", path.display()))?;
    if new_h > 0 && new_w > 0 {
        Ok((c, new_h, new_w, resize_hwc(c, h, w, &hwc, new_h, new_w)))
    } else {
        Ok((c, h, w, hwc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_decodes_to_bgr_planes_and_resizes() {
        let mut png = Vec::new();
        let img = image::RgbImage::from_fn(2, 1, |x, _| image::Rgb([10 + x as u8, 20, 30]));
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let d = decode(&png, ColorMode::Native).unwrap();
        assert_eq!((d.channels, d.height, d.width), (3, 1, 2));
        // B plane, G plane, R plane.
        assert_eq!(d.values, vec![30.0, 30.0, 20.0, 20.0, 10.0, 11.0]);
        let g = decode(&png, ColorMode::Gray).unwrap();
        assert_eq!(g.channels, 1);
        let up = resize_hwc(1, 1, 2, &[0, 100], 1, 4);
        assert_eq!(up, vec![0, 25, 75, 100]);
    }
}
