//! Mean image files (`.binaryproto`): one Caffe BlobProto (see
//! [`crate::io::blob_proto`]), written as `compute_image_mean` does (legacy
//! num/channels/height/width fields, num = 1) and read as DataTransformer does.

use std::path::Path;

use prost::Message;

use crate::io::blob_proto::{decode, to_legacy_bin};

/// A mean image: (channels, height, width) and its C×H×W values.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanImage {
    pub chw: (usize, usize, usize),
    pub data: Vec<f32>,
}

/// Reads a mean file; its blob must be 1×C×H×W (or C×H×W).
pub fn read(path: &Path) -> Result<MeanImage, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read mean file `{}`: {e}", path.display()))?;
    let blob = decode(&bytes).map_err(|e| format!("mean file `{}` {e}", path.display()))?;
    let chw = match blob.shape() {
        [1, c, h, w] | [c, h, w] => (*c, *h, *w),
        s => {
            return Err(format!(
                "mean file `{}`: a mean image must be 1×C×H×W, but this one is {s:?}",
                path.display()
            ))
        }
    };
    Ok(MeanImage {
        chw,
        data: blob.data,
    })
}

/// Writes a C×H×W mean as a 1×C×H×W blob.
pub fn write(
    path: &Path,
    channels: usize,
    height: usize,
    width: usize,
    data: &[f32],
) -> Result<(), String> {
    let bytes = to_legacy_bin([1, channels, height, width], data).encode_to_vec();
    crate::io::atomic::write_atomically(path, &bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::blob_proto::to_bin;

    #[test]
    fn round_trips_and_accepts_the_shape_form() {
        let dir = std::env::temp_dir().join(format!("caffers-mean-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("mean.binaryproto");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write(&p, 3, 2, 2, &data).unwrap();
        let want = MeanImage {
            chw: (3, 2, 2),
            data: data.clone(),
        };
        assert_eq!(read(&p).unwrap(), want);
        std::fs::write(&p, to_bin(&[3, 2, 2], &data).encode_to_vec()).unwrap();
        assert_eq!(read(&p).unwrap(), want);
        std::fs::write(&p, to_bin(&[2, 3, 2, 1], &data).encode_to_vec()).unwrap();
        let e = read(&p).unwrap_err();
        assert!(
            e.contains("mean.binaryproto") && e.contains("1×C×H×W"),
            "{e}"
        );
        std::fs::write(&p, to_bin(&[3, 2, 3], &data).encode_to_vec()).unwrap();
        let e = read(&p).unwrap_err();
        assert!(
            e.contains("mean.binaryproto") && e.contains("(18 values) but holds 12"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
