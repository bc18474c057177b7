//! Pictures the program writes (training curves, net drawings): which format a
//! file name asks for, the one font every picture's text is measured and drawn
//! with, and PNG encoding of a drawn RGB buffer.

use std::path::Path;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use crate::error::{Error, Result};
use crate::io::atomic::write_atomically;

pub mod font;

/// A picture file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(Error::Usage(format!(
                "`{}`: name a picture file ending in .svg or .png",
                path.display()
            ))),
        }
    }
}

/// Encodes an RGB buffer (3 bytes a pixel, row after row) as PNG, compressed
/// hard: pictures are written once and kept in repositories and READMEs.
pub fn png_bytes(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Best, FilterType::Adaptive)
        .write_image(rgb, width, height, ExtendedColorType::Rgb8)
        .expect("PNG encoding into memory does not fail");
    png
}

/// Draws a picture with `draw_svg` or `draw_png` (by `path`'s extension) and writes
/// it atomically, so a viewer never shows half a file. `size` is in pixels.
pub fn write_picture(
    path: &Path,
    size: (u32, u32),
    draw_svg: impl FnOnce(&mut String) -> Result<()>,
    draw_png: impl FnOnce(&mut [u8]) -> Result<()>,
) -> Result<()> {
    font::register();
    let bytes = match Format::of(path)? {
        Format::Svg => {
            let mut svg = String::new();
            draw_svg(&mut svg)?;
            svg.into_bytes()
        }
        Format::Png => {
            let mut rgb = vec![255u8; size.0 as usize * size.1 as usize * 3];
            draw_png(&mut rgb)?;
            png_bytes(&rgb, size.0, size.1)
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io_write(dir, e))?;
    }
    write_atomically(path, &bytes)
}

/// Turns a plotters drawing error into ours, naming the file being drawn.
pub fn drawing_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::file(path.display().to_string(), format!("cannot draw: {e}"))
}
