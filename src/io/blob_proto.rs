//! Caffe's BlobProto message, the one codec for every file that stores blobs:
//! `.caffemodel` weights, `.solverstate` history, mean `.binaryproto` images and
//! InfogainLoss's H matrix. Field numbers are caffe.proto's; prost does the wire
//! format (and reads repeated floats both packed and unpacked, as protobuf must).
//!
//! Decoding is Caffe's Blob::FromProto: the shape is the legacy
//! num/channels/height/width if any of the four is present (absent ones are 0,
//! their proto default), else `shape`; the values are `double_data` if it is
//! non-empty, else `data`; a value count that differs from the shape's is an error.

use prost::Message;

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

/// A decoded blob: its shape, whether that came from the legacy 4-D fields (which
/// compare differently, see [`StoredBlob::fits`]), and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBlob {
    shape: Vec<usize>,
    legacy: bool,
    pub data: Vec<f32>,
}

impl StoredBlob {
    /// Applies Caffe's FromProto rule (see the module comment). The error says what
    /// is wrong with the blob; callers add which file (and layer) it is in.
    pub fn from_bin(b: BlobProtoBin) -> Result<StoredBlob, String> {
        let legacy =
            b.num.is_some() || b.channels.is_some() || b.height.is_some() || b.width.is_some();
        let dims: Vec<i64> = if legacy {
            [b.num, b.channels, b.height, b.width]
                .iter()
                .map(|d| i64::from(d.unwrap_or(0)))
                .collect()
        } else {
            b.shape.map(|s| s.dim).unwrap_or_default()
        };
        let shape = dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| format!("has a negative dimension ({d})")))
            .collect::<Result<Vec<usize>, String>>()?;
        let count = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| format!("has shape {shape:?}, too large to hold"))?;
        let data: Vec<f32> = if b.double_data.is_empty() {
            b.data
        } else {
            b.double_data.iter().map(|&v| v as f32).collect()
        };
        if data.len() != count {
            return Err(format!(
                "has shape {shape:?} ({count} values) but holds {} values",
                data.len()
            ));
        }
        Ok(StoredBlob {
            shape,
            legacy,
            data,
        })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Caffe's Blob::ShapeEquals: exact for shaped blobs; legacy blobs compare
    /// right-aligned, missing leading axes counting as 1.
    pub fn fits(&self, target: &[usize]) -> bool {
        if !self.legacy {
            return self.shape == target;
        }
        if target.len() > 4 {
            return false;
        }
        let mut padded = [1usize; 4];
        padded[4 - target.len()..].copy_from_slice(target);
        self.shape == padded
    }
}

/// A BlobProto written in a text file (a layer's inline `blobs { … }`), decoded
/// by the same FromProto rule as the binary form.
pub fn from_text(b: &crate::proto::BlobProto) -> Result<StoredBlob, String> {
    StoredBlob::from_bin(BlobProtoBin {
        num: b.num,
        channels: b.channels,
        height: b.height,
        width: b.width,
        data: b.data.clone(),
        diff: b.diff.clone(),
        shape: b
            .shape
            .as_ref()
            .map(|s| BlobShapeBin { dim: s.dim.clone() }),
        double_data: b.double_data.clone(),
        double_diff: b.double_diff.clone(),
    })
}

/// Decodes a whole file's bytes as one BlobProto (mean images, InfogainLoss's H).
pub fn decode(bytes: &[u8]) -> Result<StoredBlob, String> {
    let b = BlobProtoBin::decode(bytes).map_err(|e| format!("is not a BlobProto: {e}"))?;
    StoredBlob::from_bin(b)
}

/// A blob in the N-D `shape` form with packed float values, as Caffe's ToProto
/// writes it.
pub fn to_bin(shape: &[usize], data: &[f32]) -> BlobProtoBin {
    BlobProtoBin {
        shape: Some(BlobShapeBin {
            dim: shape.iter().map(|&d| d as i64).collect(),
        }),
        data: data.to_vec(),
        ..Default::default()
    }
}

/// A blob in the legacy num/channels/height/width form, as Caffe's
/// compute_image_mean writes mean images.
pub fn to_legacy_bin(nchw: [usize; 4], data: &[f32]) -> BlobProtoBin {
    let [num, channels, height, width] = nchw.map(|d| Some(d as i32));
    BlobProtoBin {
        num,
        channels,
        height,
        width,
        data: data.to_vec(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32 * 0.5).collect()
    }

    #[test]
    fn legacy_dims_with_absent_ones_zero() {
        let b = decode(&to_legacy_bin([1, 3, 2, 2], &values(12)).encode_to_vec()).unwrap();
        assert_eq!(
            (b.shape(), b.data.as_slice()),
            (&[1, 3, 2, 2][..], &values(12)[..])
        );
        assert!(b.fits(&[3, 2, 2]) && b.fits(&[1, 3, 2, 2]) && !b.fits(&[3, 4]));
        // Only `channels` written: num, height and width are 0, so no values.
        let only_c = BlobProtoBin {
            channels: Some(3),
            ..Default::default()
        };
        assert_eq!(StoredBlob::from_bin(only_c).unwrap().shape(), &[0, 3, 0, 0]);
    }

    #[test]
    fn shape_form_is_exact_and_legacy_fields_win_over_it() {
        let b = decode(&to_bin(&[2, 3], &values(6)).encode_to_vec()).unwrap();
        assert_eq!(b.shape(), &[2, 3]);
        assert!(b.fits(&[2, 3]) && !b.fits(&[1, 1, 2, 3]));
        let both = BlobProtoBin {
            shape: to_bin(&[6], &[]).shape,
            ..to_legacy_bin([1, 1, 2, 3], &values(6))
        };
        let b = StoredBlob::from_bin(both).unwrap();
        assert_eq!(b.shape(), &[1, 1, 2, 3][..]);
        assert!(b.fits(&[2, 3]) && !b.fits(&[6]));
    }

    #[test]
    fn double_data_wins_when_present() {
        let b = BlobProtoBin {
            double_data: vec![1.5, -2.0],
            ..to_bin(&[2], &[9.0, 9.0])
        };
        assert_eq!(StoredBlob::from_bin(b).unwrap().data, vec![1.5, -2.0]);
        let b = BlobProtoBin {
            data: Vec::new(),
            double_data: vec![0.25; 3],
            ..to_bin(&[3], &[])
        };
        let bytes = b.encode_to_vec();
        assert_eq!(decode(&bytes).unwrap().data, vec![0.25; 3]);
    }

    #[test]
    fn packed_and_unpacked_floats() {
        // shape {dim: 2} as field 7, then the floats 1.0 and 2.0 as field 5.
        let shape = [0x3a, 0x02, 0x08, 0x02];
        let (one, two) = (1.0f32.to_le_bytes(), 2.0f32.to_le_bytes());
        let mut packed = shape.to_vec();
        packed.extend([0x2a, 0x08]);
        packed.extend(one.iter().chain(&two));
        let mut unpacked = shape.to_vec();
        for v in [one, two] {
            unpacked.push(0x2d);
            unpacked.extend(v);
        }
        for bytes in [packed, unpacked] {
            let b = decode(&bytes).unwrap();
            assert_eq!((b.shape(), b.data.as_slice()), (&[2][..], &[1.0, 2.0][..]));
        }
        // What we write is packed: one length-delimited field 5 (tag byte 0x2a).
        assert!(to_bin(&[2], &[1.0, 2.0])
            .encode_to_vec()
            .starts_with(&[0x2a, 0x08]));
    }

    #[test]
    fn count_mismatch_and_bad_dims_are_errors() {
        let e = decode(&to_legacy_bin([1, 3, 2, 3], &values(12)).encode_to_vec()).unwrap_err();
        assert!(e.contains("(18 values) but holds 12"), "{e}");
        let e = StoredBlob::from_bin(to_bin(&[4], &values(2))).unwrap_err();
        assert!(e.contains("(4 values) but holds 2"), "{e}");
        let neg = BlobProtoBin {
            height: Some(-1),
            ..Default::default()
        };
        assert!(StoredBlob::from_bin(neg).unwrap_err().contains("negative"));
        let huge = to_bin(&[usize::MAX / 2, 4], &[]);
        assert!(StoredBlob::from_bin(huge)
            .unwrap_err()
            .contains("too large"));
        assert!(decode(&[0xff; 5]).unwrap_err().contains("not a BlobProto"));
    }
}
