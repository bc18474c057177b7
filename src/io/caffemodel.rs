//! `.caffemodel` weights: Caffe's binary NetParameter, of which we read and write
//! only what weights need — each layer's name, type and blobs (new `layer` and V1
//! `layers` forms). Field numbers are caffe.proto's; prost does the wire format.

use std::path::Path;

use prost::Message;

use super::blob_proto::{to_bin, BlobProtoBin, StoredBlob};
use crate::blob::Blob;
use crate::error::{Error, Result};

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

/// One layer's stored blobs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLayer {
    pub name: String,
    pub type_name: String,
    pub blobs: Vec<StoredBlob>,
}

/// One of a layer's blobs, by Caffe's FromProto rule; errors name the file, layer
/// and blob.
fn stored(name: &str, layer: &str, i: usize, b: BlobProtoBin) -> Result<StoredBlob> {
    StoredBlob::from_bin(b).map_err(|e| {
        Error::file(
            name,
            format!("layer `{layer}` blob {i} {e} — the file is damaged"),
        )
    })
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
                blobs: blobs.iter().map(|b| to_bin(&b.shape, &b.data)).collect(),
            })
            .collect(),
    };
    net.encode_to_vec()
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
    fn round_trip_and_damaged_files() {
        let w = Blob::from_data(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let bytes = caffemodel_bytes("n", &[("ip".into(), "InnerProduct".into(), vec![&w])]);
        let back = parse_caffemodel("t", &bytes).unwrap();
        assert_eq!(back[0].blobs[0].data, w.data);
        assert!(back[0].blobs[0].fits(&[2, 3]));
        assert!(!back[0].blobs[0].fits(&[1, 1, 2, 3]));
        assert!(parse_caffemodel("t", b"\xff\xff\xff garbage").is_err());
        let mut short = NetBin::decode(bytes.as_slice()).unwrap();
        short.layer[0].blobs[0].data.pop();
        let e = parse_caffemodel("w.caffemodel", &short.encode_to_vec()).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("w.caffemodel") && e.contains("layer `ip` blob 0 has shape [2, 3]"),
            "{e}"
        );
        // Truncated file: an error, not a panic.
        assert!(parse_caffemodel("t", &bytes[..bytes.len() - 3]).is_err());
    }
}
