//! Caffe's DataTransformer: crop, mirror, mean subtraction and scale, in Caffe's
//! order and with its random draws.
//!
//! For each output value: `out = (x − mean) · scale`, where `mean` is the mean
//! file's value at the *uncropped* position (mean files are full-size and indexed
//! at the crop offset), or `mean_value[c]`, or 0. Random draws, in Caffe's order:
//! first `mirror && Rand(2)` (mirror is random in every phase), then the crop
//! offsets `Rand(H − crop + 1)`, `Rand(W − crop + 1)` in TRAIN; TEST crops the
//! centre `((H − crop)/2, (W − crop)/2)`.

use super::image::Image;
use super::mean_file;
use crate::proto::{Phase, TransformationParameter};
use crate::rng::Rng;

enum Mean {
    None,
    /// A full-size C×H×W mean image.
    File {
        chw: (usize, usize, usize),
        data: Vec<f32>,
    },
    Values(Vec<f32>),
}

pub struct Transformer {
    scale: f32,
    mirror: bool,
    crop: usize,
    mean: Mean,
    phase: Phase,
    rng: Rng,
}

impl Transformer {
    /// Builds the transformer, reading the mean file if there is one.
    pub fn new(p: &TransformationParameter, phase: Phase, seed: u64) -> Result<Self, String> {
        let mean_file = p.mean_file();
        if !mean_file.is_empty() && !p.mean_value.is_empty() {
            return Err("cannot specify mean_file and mean_value at the same time".into());
        }
        let mean = if !mean_file.is_empty() {
            let m = mean_file::read(std::path::Path::new(mean_file))?;
            Mean::File {
                chw: m.chw,
                data: m.data,
            }
        } else if !p.mean_value.is_empty() {
            Mean::Values(p.mean_value.clone())
        } else {
            Mean::None
        };
        Ok(Transformer {
            scale: p.scale(),
            mirror: p.mirror(),
            crop: p.crop_size() as usize,
            mean,
            phase,
            rng: Rng::new(seed),
        })
    }

    /// The shape of one transformed image: [C, H', W'] (Caffe's InferBlobShape
    /// without the leading 1).
    pub fn output_shape(&self, c: usize, h: usize, w: usize) -> Result<[usize; 3], String> {
        if self.crop > 0 {
            if h < self.crop || w < self.crop {
                return Err(format!(
                    "crop_size {} is larger than the {h}×{w} image",
                    self.crop
                ));
            }
            Ok([c, self.crop, self.crop])
        } else {
            Ok([c, h, w])
        }
    }

    /// Transforms one image into `out` (its output_shape's worth of values).
    pub fn transform(&mut self, img: &Image, out: &mut [f32]) -> Result<(), String> {
        let (c, h, w) = (img.channels, img.height, img.width);
        let [_, oh, ow] = self.output_shape(c, h, w)?;
        if out.len() != c * oh * ow {
            return Err(format!(
                "image is {c}×{h}×{w}, which transforms to {c}×{oh}×{ow}, but the batch expects {} values per item (images in one batch must agree)",
                out.len()
            ));
        }
        let mean_values: Option<Vec<f32>> = match &self.mean {
            Mean::File { chw, .. } => {
                if *chw != (c, h, w) {
                    return Err(format!(
                        "the mean file is {}×{}×{} but the data is {c}×{h}×{w}",
                        chw.0, chw.1, chw.2
                    ));
                }
                None
            }
            Mean::Values(v) => {
                if v.len() != 1 && v.len() != c {
                    return Err(format!(
                        "mean_value is given {} times; give it once or once per channel ({c})",
                        v.len()
                    ));
                }
                Some(
                    (0..c)
                        .map(|k| if v.len() == 1 { v[0] } else { v[k] })
                        .collect(),
                )
            }
            Mean::None => None,
        };
        let do_mirror = self.mirror && self.rng.below(2) == 1;
        let (mut h_off, mut w_off) = (0, 0);
        if self.crop > 0 {
            if self.phase == Phase::Train {
                h_off = self.rng.below((h - self.crop + 1) as u64) as usize;
                w_off = self.rng.below((w - self.crop + 1) as u64) as usize;
            } else {
                h_off = (h - self.crop) / 2;
                w_off = (w - self.crop) / 2;
            }
        }
        let scale = self.scale;
        for k in 0..c {
            for y in 0..oh {
                for x in 0..ow {
                    let src = (k * h + h_off + y) * w + w_off + x;
                    let ox = if do_mirror { ow - 1 - x } else { x };
                    let dst = (k * oh + y) * ow + ox;
                    let v = img.values[src];
                    out[dst] = match (&self.mean, &mean_values) {
                        (Mean::File { data, .. }, _) => (v - data[src]) * scale,
                        (_, Some(m)) => (v - m[k]) * scale,
                        _ => v * scale,
                    };
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(text: &str) -> TransformationParameter {
        let src = crate::error::SourceFile::new("t", text);
        let tree = crate::text::parse(&src).unwrap();
        crate::text::from_message(&src, &tree).unwrap()
    }

    fn ramp(c: usize, h: usize, w: usize) -> Image {
        Image {
            channels: c,
            height: h,
            width: w,
            values: (0..c * h * w).map(|i| i as f32).collect(),
        }
    }

    #[test]
    fn scale_and_mean_values() {
        let mut t =
            Transformer::new(&param("scale: 0.5 mean_value: [1, 2]"), Phase::Test, 1).unwrap();
        let mut out = vec![0.0; 4];
        t.transform(&ramp(2, 1, 2), &mut out).unwrap();
        assert_eq!(out, vec![-0.5, 0.0, 0.0, 0.5]);
        let mut t = Transformer::new(
            &param("mean_value: 1 mean_value: 2 mean_value: 3"),
            Phase::Test,
            1,
        )
        .unwrap();
        assert!(t
            .transform(&ramp(2, 1, 2), &mut out)
            .unwrap_err()
            .contains("once per channel"));
        let e = Transformer::new(&param("mean_file: \"m\" mean_value: 1"), Phase::Test, 1)
            .err()
            .unwrap();
        assert!(e.contains("at the same time"), "{e}");
    }

    #[test]
    fn centre_crop_in_test_and_mean_file_at_the_crop_offset() {
        let dir = std::env::temp_dir().join(format!("caffers-transform-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mean_path = dir.join("mean.binaryproto");
        // Mean = 10 × index, so (x − mean) identifies which mean value was used.
        let mean: Vec<f32> = (0..25).map(|i| 10.0 * i as f32).collect();
        mean_file::write(&mean_path, 1, 5, 5, &mean).unwrap();
        let text = format!("crop_size: 3 mean_file: \"{}\"", mean_path.display());
        let mut t = Transformer::new(&param(&text), Phase::Test, 1).unwrap();
        let mut out = vec![0.0; 9];
        t.transform(&ramp(1, 5, 5), &mut out).unwrap();
        // Centre offset (1, 1): source indices 6,7,8, 11,12,13, 16,17,18.
        let want: Vec<f32> = [6, 7, 8, 11, 12, 13, 16, 17, 18]
            .iter()
            .map(|&i| i as f32 - 10.0 * i as f32)
            .collect();
        assert_eq!(out, want);
        assert!(t
            .transform(&ramp(1, 4, 4), &mut out)
            .unwrap_err()
            .contains("mean file is 1×5×5"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn random_crop_and_mirror_in_train() {
        let mut t = Transformer::new(&param("crop_size: 2 mirror: true"), Phase::Train, 7).unwrap();
        let img = ramp(1, 4, 4);
        let mut seen_offsets = std::collections::HashSet::new();
        let mut mirrored = 0;
        for _ in 0..200 {
            let mut out = vec![0.0; 4];
            t.transform(&img, &mut out).unwrap();
            // Rows stay 4 apart; a mirrored row runs backwards.
            assert_eq!(out[2] - out[0], 4.0);
            let flipped = out[1] < out[0];
            mirrored += flipped as usize;
            let first = if flipped { out[1] } else { out[0] } as usize;
            seen_offsets.insert((first / 4, first % 4));
        }
        assert_eq!(seen_offsets.len(), 9, "{seen_offsets:?}");
        assert!((60..140).contains(&mirrored), "{mirrored}");
        // Mirror without crop in TEST is still random (Caffe does not gate it by phase).
        let mut t = Transformer::new(&param("mirror: true"), Phase::Test, 3).unwrap();
        let mut flips = 0;
        for _ in 0..50 {
            let mut out = vec![0.0; 2];
            t.transform(&ramp(1, 1, 2), &mut out).unwrap();
            flips += (out == vec![1.0, 0.0]) as usize;
        }
        assert!(flips > 5 && flips < 45, "{flips}");
    }
}
