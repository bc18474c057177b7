//! `.caffemodel` weights: Caffe's binary NetParameter, of which we read and write
//! only what weights need — each layer's name, type and blobs (new `layer` and V1
//! `layers` forms). Field numbers are caffe.proto's; prost does the wire format.

use std::path::Path;

use prost::Message;

use crate::blob::Blob;
use crate::error::{Error, Result};

/// BlobShape (caffe.proto field numbers).
#[derive(Clone, PartialEq, Message)]
pub struct BlobShapeBin {
    #[prost(int64, repeated, tag = "1")]
    pub dim: Vec<i64>,
}

/// BlobProto: a shape (or the legacy 4-D num/channels/height/width) and values.
#[derive(Clone, PartialEq, Message)]
pub struct BlobProtoBin {
    #[prost(int32, optional, tag = "1")]
    pub num: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub channels: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub height: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    pub width: Option<i32>,
    #[prost(float, repeated, tag = "5")]
    pub data: Vec<f32>,
    #[prost(float, repeated, tag = "6")]
    pub diff: Vec<f32>,
    #[prost(message, optional, tag = "7")]
    pub shape: Option<BlobShapeBin>,
    #[prost(double, repeated, tag = "8")]
    pub double_data: Vec<f64>,
    #[prost(double, repeated, tag = "9")]
    pub double_diff: Vec<f64>,
}

/// The parts of LayerParameter that weights need.
#[derive(Clone, PartialEq, Message)]
pub struct LayerBin {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub r#type: Option<String>,
    #[prost(string, repeated, tag = "3")]
    pub bottom: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub top: Vec<String>,
    #[prost(message, repeated, tag = "7")]
    pub blobs: Vec<BlobProtoBin>,
}

/// The parts of the deprecated V1LayerParameter that weights need.
#[derive(Clone, PartialEq, Message)]
pub struct V1LayerBin {
    #[prost(string, optional, tag = "4")]
    pub name: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub blobs: Vec<BlobProtoBin>,
}

/// NetParameter as weights files use it.
#[derive(Clone, PartialEq, Message)]
pub struct NetBin {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub layers: Vec<V1LayerBin>,
    #[prost(message, repeated, tag = "100")]
    pub layer: Vec<LayerBin>,
}

/// A blob as stored: its shape as written (None for legacy 4-D blobs) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBlob {
    pub shape: Option<Vec<usize>>,
    pub legacy: [usize; 4],
    pub data: Vec<f32>,
}

impl StoredBlob {
    /// The shape to report: the stored shape, or the legacy 4-D one.
    pub fn shape(&self) -> Vec<usize> {
        self.shape.clone().unwrap_or_else(|| self.legacy.to_vec())
    }

    /// Caffe's Blob::ShapeEquals: exact for shaped blobs; legacy blobs compare
    /// right-aligned, missing leading axes counting as 1.
    pub fn fits(&self, target: &[usize]) -> bool {
        match &self.shape {
            Some(s) => s == target,
            None => {
                if target.len() > 4 {
                    return false;
                }
                let mut padded = [1usize; 4];
                padded[4 - target.len()..].copy_from_slice(target);
                padded == self.legacy
            }
        }
    }
}

/// One layer's stored blobs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLayer {
    pub name: String,
    pub type_name: String,
    pub blobs: Vec<StoredBlob>,
}

fn stored(name: &str, layer: &str, i: usize, b: BlobProtoBin) -> Result<StoredBlob> {
    let shape = match &b.shape {
        Some(s) => Some(
            s.dim
                .iter()
                .map(|&d| usize::try_from(d))
                .collect::<Result<Vec<usize>, _>>()
                .map_err(|_| {
                    Error::file(
                        name,
                        format!("layer `{layer}` blob {i} has a negative dimension"),
                    )
                })?,
        ),
        None => None,
    };
    let dim = |v: Option<i32>| usize::try_from(v.unwrap_or(0)).unwrap_or(0);
    let legacy = [dim(b.num), dim(b.channels), dim(b.height), dim(b.width)];
    let data = if !b.data.is_empty() || b.double_data.is_empty() {
        b.data
    } else {
        b.double_data.iter().map(|&v| v as f32).collect()
    };
    let blob = StoredBlob {
        shape,
        legacy,
        data,
    };
    let expected: usize = blob.shape().iter().product();
    if expected != blob.data.len() {
        return Err(Error::file(
            name,
            format!(
                "layer `{layer}` blob {i} has shape {:?} ({expected} values) but holds {} values — the file is damaged",
                blob.shape(),
                blob.data.len()
            ),
        ));
    }
    Ok(blob)
}

/// Decodes a caffemodel's bytes.
pub fn parse_caffemodel(name: &str, bytes: &[u8]) -> Result<Vec<StoredLayer>> {
    let net = NetBin::decode(bytes).map_err(|e| {
        Error::file(
            name,
            format!("is not a valid .caffemodel (binary NetParameter): {e}. Is it a text prototxt or a damaged download?"),
        )
    })?;
    let mut layers = Vec::new();
    for l in net.layer {
        let lname = l.name.unwrap_or_default();
        let blobs = l
            .blobs
            .into_iter()
            .enumerate()
            .map(|(i, b)| stored(name, &lname, i, b))
            .collect::<Result<_>>()?;
        layers.push(StoredLayer {
            name: lname,
            type_name: l.r#type.unwrap_or_default(),
            blobs,
        });
    }
    for l in net.layers {
        let lname = l.name.unwrap_or_default();
        let blobs = l
            .blobs
            .into_iter()
            .enumerate()
            .map(|(i, b)| stored(name, &lname, i, b))
            .collect::<Result<_>>()?;
        layers.push(StoredLayer {
            name: lname,
            type_name: String::new(),
            blobs,
        });
    }
    Ok(layers)
}

/// Reads a .caffemodel file.
pub fn read_caffemodel(path: &Path) -> Result<Vec<StoredLayer>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_caffemodel(&path.display().to_string(), &bytes)
}

/// Encodes layers' blobs as a caffemodel (N-D shapes, packed floats).
pub fn caffemodel_bytes(net_name: &str, layers: &[(String, String, Vec<&Blob>)]) -> Vec<u8> {
    let net = NetBin {
        name: Some(net_name.to_string()),
        layers: Vec::new(),
        layer: layers
            .iter()
            .map(|(name, ty, blobs)| LayerBin {
                name: Some(name.clone()),
                r#type: Some(ty.clone()),
                bottom: Vec::new(),
                top: Vec::new(),
                blobs: blobs
                    .iter()
                    .map(|b| BlobProtoBin {
                        shape: Some(BlobShapeBin {
                            dim: b.shape.iter().map(|&d| d as i64).collect(),
                        }),
                        data: b.data.clone(),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect(),
    };
    net.encode_to_vec()
}

/// Writes bytes to `path` atomically: a temporary file beside it, then a rename,
/// so an interrupted write never leaves a truncated file under the final name.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_caffe_written_fixture_weights() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nets/lenet.caffemodel");
        let layers = read_caffemodel(&path).unwrap();
        let conv1 = layers.iter().find(|l| l.name == "conv1").unwrap();
        assert_eq!(conv1.type_name, "Convolution");
        assert_eq!(conv1.blobs[0].shape(), vec![20, 1, 5, 5]);
        assert_eq!(conv1.blobs[1].shape(), vec![20]);
        assert_eq!(conv1.blobs[0].data.len(), 500);
    }

    #[test]
    fn round_trip_and_legacy_shapes() {
        let w = Blob::from_data(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let bytes = caffemodel_bytes("n", &[("ip".into(), "InnerProduct".into(), vec![&w])]);
        let back = parse_caffemodel("t", &bytes).unwrap();
        assert_eq!(back[0].blobs[0].data, w.data);
        assert!(back[0].blobs[0].fits(&[2, 3]));
        let legacy = StoredBlob {
            shape: None,
            legacy: [1, 1, 2, 3],
            data: vec![0.0; 6],
        };
        assert!(legacy.fits(&[2, 3]));
        assert!(!legacy.fits(&[3, 2]));
        assert!(parse_caffemodel("t", b"\xff\xff\xff garbage").is_err());
        // Truncated file: an error, not a panic.
        assert!(parse_caffemodel("t", &bytes[..bytes.len() - 3]).is_err());
    }
}
