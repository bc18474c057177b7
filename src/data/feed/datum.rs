//! Caffe's `Datum` (caffe.proto field numbers): one image or feature vector and
//! its label, raw (uint8 `data` or `float_data`, C×H×W) or encoded (JPEG/PNG bytes).

use prost::Message;

use super::image::{decode, ColorMode, Image};

#[derive(Clone, PartialEq, Message)]
pub struct Datum {
    #[prost(int32, optional, tag = "1")]
    pub channels: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub height: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub width: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub data: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "5")]
    pub label: Option<i32>,
    /// proto2 `repeated float` (not packed), as Caffe writes it.
    #[prost(float, repeated, packed = "false", tag = "6")]
    pub float_data: Vec<f32>,
    #[prost(bool, optional, tag = "7")]
    pub encoded: Option<bool>,
}

impl Datum {
    /// A raw uint8 datum (C×H×W bytes), as Caffe's convert tools write.
    pub fn raw(channels: usize, height: usize, width: usize, data: Vec<u8>, label: i32) -> Self {
        Datum {
            channels: Some(channels as i32),
            height: Some(height as i32),
            width: Some(width as i32),
            data: Some(data),
            label: Some(label),
            float_data: Vec::new(),
            encoded: Some(false),
        }
    }

    /// An encoded datum: the bytes of an image file.
    pub fn encoded_image(bytes: Vec<u8>, label: i32) -> Self {
        Datum {
            data: Some(bytes),
            label: Some(label),
            encoded: Some(true),
            ..Default::default()
        }
    }

    /// Parses one LMDB value; `key` names the record in the error.
    pub fn parse(bytes: &[u8], key: &str) -> Result<Self, String> {
        Datum::decode(bytes).map_err(|e| format!("record `{key}` is not a Caffe Datum: {e}"))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    pub fn is_encoded(&self) -> bool {
        self.encoded.unwrap_or(false)
    }

    /// The datum as a C×H×W image: raw bytes, float_data, or decoded pixels
    /// (BGR channel order, as OpenCV decodes). `mode` applies to encoded data only.
    pub fn to_image(&self, mode: ColorMode) -> Result<Image, String> {
        let bytes = self.data.as_deref().unwrap_or(&[]);
        if self.is_encoded() {
            return decode(bytes, mode);
        }
        let dim = |v: Option<i32>, what: &str| -> Result<usize, String> {
            usize::try_from(v.unwrap_or(0)).map_err(|_| format!("datum has a negative {what}"))
        };
        let (c, h, w) = (
            dim(self.channels, "channels")?,
            dim(self.height, "height")?,
            dim(self.width, "width")?,
        );
        let n = c
            .checked_mul(h)
            .and_then(|n| n.checked_mul(w))
            .ok_or_else(|| format!("datum says {c}×{h}×{w} values, more than memory can hold"))?;
        let values: Vec<f32> = if !bytes.is_empty() {
            if bytes.len() != n {
                return Err(format!(
                    "datum says {c}×{h}×{w} = {n} values but holds {} bytes",
                    bytes.len()
                ));
            }
            bytes.iter().map(|&b| b as f32).collect()
        } else {
            if self.float_data.len() != n {
                return Err(format!(
                    "datum says {c}×{h}×{w} = {n} values but holds {} floats",
                    self.float_data.len()
                ));
            }
            self.float_data.clone()
        };
        if n == 0 {
            return Err("datum holds no values".into());
        }
        Ok(Image {
            channels: c,
            height: h,
            width: w,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_records() {
        let d = Datum::raw(1, 2, 2, vec![1, 2, 3, 4], 7);
        let back = Datum::parse(&d.to_bytes(), "k").unwrap();
        assert_eq!(back, d);
        let img = back.to_image(ColorMode::Native).unwrap();
        assert_eq!((img.channels, img.height, img.width), (1, 2, 2));
        assert_eq!(img.values, vec![1.0, 2.0, 3.0, 4.0]);
        let e = Datum::parse(&[0xff, 0xff, 0xff], "00000001").unwrap_err();
        assert!(e.contains("`00000001` is not a Caffe Datum"), "{e}");
        let short = Datum::raw(1, 3, 3, vec![0; 4], 0);
        let e = short.to_image(ColorMode::Native).unwrap_err();
        assert!(e.contains("holds 4 bytes"), "{e}");
        let huge = Datum::raw(1 << 30, 1 << 30, 1 << 30, vec![0; 4], 0);
        let e = huge.to_image(ColorMode::Native).unwrap_err();
        assert!(e.contains("more than memory can hold"), "{e}");
        let f = Datum {
            channels: Some(1),
            height: Some(1),
            width: Some(2),
            float_data: vec![0.5, -1.0],
            ..Default::default()
        };
        let back = Datum::parse(&f.to_bytes(), "f").unwrap();
        assert_eq!(
            back.to_image(ColorMode::Native).unwrap().values,
            vec![0.5, -1.0]
        );
    }
}
