//! Messages shared by nets and solvers: blobs, shapes, fillers, parameter specs,
//! net state and its rules.

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
