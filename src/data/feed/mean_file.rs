//! `.binaryproto` mean files: one Caffe BlobProto, as `compute_image_mean` writes
//! (legacy num/channels/height/width fields, num = 1) and DataTransformer reads.

use std::path::Path;

use prost::Message;

use crate::io::caffemodel::{BlobProtoBin, BlobShapeBin};

/// A mean image: shape (as stored) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanBlob {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl MeanBlob {
    /// (channels, height, width) of a 1×C×H×W (or C×H×W) mean.
    pub fn chw(&self) -> Result<(usize, usize, usize), String> {
        match self.shape.as_slice() {
            [1, c, h, w] | [c, h, w] => Ok((*c, *h, *w)),
            s => Err(format!(
                "a mean image must be 1×C×H×W, but this one is {s:?}"
            )),
        }
    }
}

/// Reads a BlobProto from bytes (legacy 4-D fields or `shape`; float or double data).
pub fn decode(bytes: &[u8]) -> Result<MeanBlob, String> {
    let p = BlobProtoBin::decode(bytes).map_err(|e| format!("not a BlobProto: {e}"))?;
    let legacy = p.num.is_some() || p.channels.is_some() || p.height.is_some() || p.width.is_some();
    let dims: Vec<i64> = if legacy {
        [p.num, p.channels, p.height, p.width]
            .iter()
            .map(|d| d.unwrap_or(1) as i64)
            .collect()
    } else {
        p.shape.map(|s| s.dim).unwrap_or_default()
    };
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<Vec<usize>, String>>()?;
    let data: Vec<f32> = if p.data.is_empty() {
        p.double_data.iter().map(|&v| v as f32).collect()
    } else {
        p.data
    };
    let n: usize = shape.iter().product();
    if data.len() != n {
        return Err(format!(
            "shape {shape:?} needs {n} values but the blob holds {}",
            data.len()
        ));
    }
    Ok(MeanBlob { shape, data })
}

/// Encodes a 1×C×H×W mean as Caffe's compute_image_mean does.
pub fn encode(channels: usize, height: usize, width: usize, data: &[f32]) -> Vec<u8> {
    let p = BlobProtoBin {
        num: Some(1),
        channels: Some(channels as i32),
        height: Some(height as i32),
        width: Some(width as i32),
        data: data.to_vec(),
        ..Default::default()
    };
    p.encode_to_vec()
}

pub fn read(path: &Path) -> Result<MeanBlob, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read mean file `{}`: {e}", path.display()))?;
    decode(&bytes).map_err(|e| format!("mean file `{}`: {e}", path.display()))
}

pub fn write(
    path: &Path,
    channels: usize,
    height: usize,
    width: usize,
    data: &[f32],
) -> Result<(), String> {
    std::fs::write(path, encode(channels, height, width, data))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// Keeps the `shape` form reachable for blobs written by newer tools.
pub fn encode_with_shape(shape: &[usize], data: &[f32]) -> Vec<u8> {
    BlobProtoBin {
        shape: Some(BlobShapeBin {
            dim: shape.iter().map(|&d| d as i64).collect(),
        }),
        data: data.to_vec(),
        ..Default::default()
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_forms() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let m = decode(&encode(3, 2, 2, &data)).unwrap();
        assert_eq!(m.shape, vec![1, 3, 2, 2]);
        assert_eq!(m.data, data);
        assert_eq!(m.chw().unwrap(), (3, 2, 2));
        let m = decode(&encode_with_shape(&[1, 3, 2, 2], &data)).unwrap();
        assert_eq!(
            (m.shape.clone(), m.chw().unwrap()),
            (vec![1, 3, 2, 2], (3, 2, 2))
        );
        let e = decode(&encode(3, 2, 3, &data)).unwrap_err();
        assert!(e.contains("needs 18 values"), "{e}");
        assert!(decode(&[0xff; 5]).unwrap_err().contains("not a BlobProto"));
    }
}
