//! Messages shared by nets and solvers: blobs, shapes, fillers, parameter specs,
//! net state and its rules, data transformation and loss settings.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

caffe_enum! {
    /// Train or test: which layers a net includes, and how some layers behave.
    pub enum Phase { Train = 0 => "TRAIN", Test = 1 => "TEST" }
}

caffe_message! {
    /// The shape of a blob: its dimensions, outermost first.
    pub struct BlobShape {
        rep dim: i64;
    }
}

caffe_message! {
    /// A blob's values (and optionally gradients), as stored in caffemodels and
    /// mean files.
    pub struct BlobProto {
        msg shape: BlobShape;
        rep data: f32;
        rep diff: f32;
        rep double_data: f64;
        rep double_diff: f64;
        /// Legacy 4-D shape (deprecated; use `shape`).
        opt num: i32 = 0;
        opt channels: i32 = 0;
        opt height: i32 = 0;
        opt width: i32 = 0;
    }
}

caffe_message! {
    /// Several blobs together (e.g. the output of a net's forward pass).
    pub struct BlobProtoVector {
        rep blobs: BlobProto;
    }
}

caffe_message! {
    /// One record of a LevelDB/LMDB data set: an image (raw or encoded) and its label.
    pub struct Datum {
        opt channels: i32 = 0;
        opt height: i32 = 0;
        opt width: i32 = 0;
        /// Raw pixels (uint8, CHW) or, when `encoded`, a JPEG/PNG file.
        bytes data;
        opt label: i32 = 0;
        /// Float pixels, used instead of `data` by some data sets.
        rep float_data: f32;
        opt encoded: bool = false;
    }
}

/// The contents of a protobuf `bytes` field. The text format writes them as a
/// (possibly escaped) string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                Ok(Bytes(v.as_bytes().to_vec()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Bytes(out))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

caffe_message! {
    /// How a parameter blob is initialised.
    pub struct FillerParameter {
        /// constant, gaussian, positive_unitball, uniform, xavier, msra, bilinear.
        string r#type = "constant";
        opt value: f32 = 0.0;
        opt min: f32 = 0.0;
        opt max: f32 = 1.0;
        opt mean: f32 = 0.0;
        opt std: f32 = 1.0;
        /// Expected number of non-zero inputs per output (gaussian only); -1 = dense.
        opt sparse: i32 = -1;
        opt variance_norm: VarianceNorm = VarianceNorm::FanIn;
    }
}

caffe_enum! {
    /// Which fan the xavier and msra fillers normalise by.
    pub enum VarianceNorm { FanIn = 0 => "FAN_IN", FanOut = 1 => "FAN_OUT", Average = 2 => "AVERAGE" }
}

caffe_message! {
    /// Learning settings of one parameter blob of a layer, and its sharing name.
    pub struct ParamSpec {
        /// Non-empty names share the blob between every layer that uses the name.
        string name = "";
        /// How strictly shared blobs' shapes must match (STRICT when unset).
        opt share_mode: DimCheckMode = DimCheckMode::Strict;
        opt lr_mult: f32 = 1.0;
        opt decay_mult: f32 = 1.0;
    }
}

caffe_enum! {
    /// Whether shared blobs must have the same shape (STRICT) or only the same count.
    pub enum DimCheckMode { Strict = 0 => "STRICT", Permissive = 1 => "PERMISSIVE" }
}

caffe_message! {
    /// The state a net is built in: phase, level and stages select its layers.
    pub struct NetState {
        opt phase: Phase = Phase::Test;
        opt level: i32 = 0;
        rep stage: String;
    }
}

caffe_message! {
    /// A rule a [`NetState`] meets or not; used by a layer's `include`/`exclude`.
    /// Unset `phase`, `min_level` and `max_level` do not constrain the state.
    pub struct NetStateRule {
        opt phase: Phase = Phase::Train;
        opt min_level: i32 = 0;
        opt max_level: i32 = 0;
        /// Every one of these stages must be in the state.
        rep stage: String;
        /// None of these stages may be in the state.
        rep not_stage: String;
    }
}

caffe_message! {
    /// Preprocessing of a data layer's images: (x - mean) * scale, crop, mirror.
    pub struct TransformationParameter {
        opt scale: f32 = 1.0;
        /// Random 50% horizontal flip.
        opt mirror: bool = false;
        /// Random crop in TRAIN, centre crop in TEST; 0 = no crop.
        opt crop_size: u32 = 0;
        /// A binaryproto mean image; exclusive with `mean_value`.
        string mean_file = "";
        /// One value for all channels, or one per channel.
        rep mean_value: f32;
        /// Decode encoded images as 3-channel colour.
        opt force_color: bool = false;
        /// Decode encoded images as 1-channel grey.
        opt force_gray: bool = false;
    }
}

caffe_message! {
    /// Settings shared by loss layers.
    pub struct LossParameter {
        /// Positions with this label contribute no loss (only when set).
        opt ignore_label: i32 = 0;
        opt normalization: NormalizationMode = NormalizationMode::Valid;
        /// Deprecated: used only when `normalization` is unset; false means BATCH_SIZE.
        opt normalize: bool = false;
    }
}

caffe_enum! {
    /// What a loss is divided by.
    pub enum NormalizationMode {
        /// Batch size times spatial size, ignored labels included.
        Full = 0 => "FULL",
        /// Number of positions that do not carry the ignore label.
        Valid = 1 => "VALID",
        BatchSize = 2 => "BATCH_SIZE",
        None = 3 => "NONE",
    }
}

caffe_enum! {
    /// Which implementation a layer uses; caffers has one, so all are accepted.
    pub enum Engine { Default = 0 => "DEFAULT", Caffe = 1 => "CAFFE", Cudnn = 2 => "CUDNN" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> crate::Result<T> {
        let src = SourceFile::new("t.prototxt", text);
        crate::text::from_message(&src, &crate::text::parse(&src)?)
    }

    #[test]
    fn defaults_come_from_getters() {
        let f: FillerParameter = read("type: 'xavier' std: 0.5 variance_norm: FAN_OUT").unwrap();
        assert_eq!(f.r#type(), "xavier");
        assert_eq!(f.std(), 0.5);
        assert_eq!(f.max(), 1.0);
        assert_eq!(f.variance_norm(), VarianceNorm::FanOut);
        assert_eq!(FillerParameter::default().r#type(), "constant");
        let s: BlobShape = read("dim: 1 dim: [3, 224] dim: 224").unwrap();
        assert_eq!(s.dim, vec![1, 3, 224, 224]);
        let f: FillerParameter = read("variance_norm: 2").unwrap();
        assert_eq!(f.variance_norm(), VarianceNorm::Average);
    }

    #[test]
    fn blobs_datums_and_rules_read() {
        let b: BlobProto = read("num: 1 channels: 2 data: [1, 2.5] double_data: 3").unwrap();
        assert_eq!((b.num(), b.channels(), b.height()), (1, 2, 0));
        assert_eq!(b.data, vec![1.0, 2.5]);
        assert_eq!(b.double_data, vec![3.0]);
        assert!(b.shape.is_none());
        let d: Datum =
            read(r#"channels: 1 height: 1 width: 3 data: "\001\377a" label: 7"#).unwrap();
        assert_eq!(d.data(), &[1, 255, b'a']);
        assert_eq!((d.label(), d.encoded()), (7, false));
        assert_eq!(Datum::default().data(), &[] as &[u8]);
        let r: NetStateRule = read("max_level: 2 not_stage: 'x'").unwrap();
        assert_eq!((r.phase, r.min_level, r.max_level), (None, None, Some(2)));
        assert_eq!(r.not_stage, vec!["x"]);
        assert_eq!(NetState::default().phase(), Phase::Test);
        let p = ParamSpec::default();
        assert_eq!((p.lr_mult(), p.decay_mult(), p.name()), (1.0, 1.0, ""));
        assert_eq!(p.share_mode(), DimCheckMode::Strict);
        let t = TransformationParameter::default();
        assert_eq!((t.scale(), t.crop_size(), t.mirror()), (1.0, 0, false));
        let l: LossParameter = read("normalize: false").unwrap();
        assert_eq!((l.normalize, l.normalization), (Some(false), None));
    }

    #[test]
    fn toml_reads_the_same_types() {
        let r: NetStateRule = toml::from_str("phase = \"TEST\"\nstage = [\"a\", \"b\"]").unwrap();
        assert_eq!(r.phase, Some(Phase::Test));
        assert_eq!(r.stage, vec!["a", "b"]);
        let f: FillerParameter = toml::from_str("type = \"gaussian\"\nstd = 0.01").unwrap();
        assert_eq!((f.r#type(), f.std()), ("gaussian", 0.01));
    }

    #[test]
    fn schema_errors_are_located_and_suggest() {
        let e = read::<FillerParameter>("type: 'x'\n  sdt: 1")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "t.prototxt:2:3: unknown field `sdt` in FillerParameter — did you mean `std`?"
            ),
            "{e}"
        );
        let e = read::<FillerParameter>("variance_norm: FAN_IM")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.prototxt:1:16: unknown value `FAN_IM` — did you mean `FAN_IN`?"),
            "{e}"
        );
        let e = read::<FillerParameter>("sparse: 3000000000")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1:9: value 3000000000 is out of range for int32"),
            "{e}"
        );
        let e = read::<FillerParameter>("std: 1 std: 2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("1:8: field `std` is given 2 times"), "{e}");
        let e = read::<FillerParameter>("type: xavier")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected a string, found an identifier — strings are written in quotes"),
            "{e}"
        );
        let e = read::<FillerParameter>("variance_norm: \"FAN_IN\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("without quotes"), "{e}");
        let e = read::<BlobShape>("dim: 1.5").unwrap_err().to_string();
        assert!(
            e.contains("1:6: expected an integer (int64), found a floating-point number"),
            "{e}"
        );
    }
}
