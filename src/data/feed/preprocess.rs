//! pycaffe's `caffe.io.Transformer.preprocess` for one decoded image, in its order:
//! channel swap, raw scale, mean subtraction, input scale. Pixels come in as the
//! C++ tools decode them (OpenCV order: BGR or grey, values 0–255); `raw_scale`
//! keeps pycaffe's meaning (the range of the raw values the net expects, applied to
//! pixels in [0, 1]), so its default, 255, leaves 0–255 pixels as they are.

use super::image::Image;
use super::mean_file::MeanImage;

/// What is subtracted after scaling.
#[derive(Debug, Clone, PartialEq)]
pub enum Mean {
    /// One value per channel (`--mean-value`, or a mean file of another size).
    PerChannel(Vec<f32>),
    /// A C×H×W image the size of the input, subtracted pixel by pixel.
    Image(Vec<f32>),
}

impl Mean {
    /// A mean file for a C×H×W input: subtracted pixel by pixel when it is the
    /// input's size (what a Data layer with that mean_file did in training),
    /// otherwise as its per-channel averages (Caffe's classification.cpp).
    pub fn from_file(mean: &MeanImage, chw: (usize, usize, usize)) -> Result<Mean, String> {
        let (c, h, w) = mean.chw;
        if c != chw.0 {
            return Err(format!(
                "the mean file has {c} channel(s), the net's input {}",
                chw.0
            ));
        }
        if (h, w) == (chw.1, chw.2) {
            return Ok(Mean::Image(mean.data.clone()));
        }
        let plane = (h * w).max(1);
        Ok(Mean::PerChannel(
            mean.data
                .chunks(plane)
                .map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / plane as f64) as f32)
                .collect(),
        ))
    }
}

/// The preprocessing options of pycaffe's Transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    /// New channel `i` is old channel `channel_swap[i]` (pycaffe's rule).
    pub channel_swap: Option<Vec<usize>>,
    pub raw_scale: f32,
    pub mean: Option<Mean>,
    /// Multiplies after the mean is subtracted (pycaffe's input_scale, the Data
    /// layer's transform_param.scale).
    pub input_scale: f32,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            channel_swap: None,
            raw_scale: 255.0,
            mean: None,
            input_scale: 1.0,
        }
    }
}

impl Preprocess {
    /// Checks the options against a C×H×W input, before any image is read.
    pub fn check(&self, chw: (usize, usize, usize)) -> Result<(), String> {
        let (c, h, w) = chw;
        if let Some(swap) = &self.channel_swap {
            let mut sorted = swap.clone();
            sorted.sort_unstable();
            if sorted != (0..c).collect::<Vec<_>>() {
                return Err(format!(
                    "--channel-swap {swap:?} is not an order of the input's {c} channel(s)"
                ));
            }
        }
        match &self.mean {
            Some(Mean::PerChannel(v)) if v.len() != c => Err(format!(
                "{} mean value(s) for an input of {c} channel(s)",
                v.len()
            )),
            Some(Mean::Image(v)) if v.len() != c * h * w => Err(format!(
                "a mean image of {} values for an input of {c}×{h}×{w}",
                v.len()
            )),
            _ => Ok(()),
        }
    }

    /// The net input for one image already at the input's size (see [`Self::check`]).
    pub fn apply(&self, image: &Image) -> Vec<f32> {
        let plane = image.height * image.width;
        let swapped: Vec<f32> = match &self.channel_swap {
            Some(swap) => swap
                .iter()
                .flat_map(|&from| &image.values[from * plane..(from + 1) * plane])
                .copied()
                .collect(),
            None => image.values.clone(),
        };
        // 255 / 255 is exactly 1, so the default leaves the values bit for bit.
        let raw = self.raw_scale / 255.0;
        swapped
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let mean = match &self.mean {
                    Some(Mean::PerChannel(m)) => m[i / plane],
                    Some(Mean::Image(m)) => m[i],
                    None => 0.0,
                };
                (v * raw - mean) * self.input_scale
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_by_one() -> Image {
        // Channel 0: [10, 20]; channel 1: [100, 200].
        Image {
            channels: 2,
            height: 1,
            width: 2,
            values: vec![10.0, 20.0, 100.0, 200.0],
        }
    }

    #[test]
    fn swap_then_raw_scale_then_mean_then_scale() {
        let p = Preprocess {
            channel_swap: Some(vec![1, 0]),
            raw_scale: 510.0,
            mean: Some(Mean::PerChannel(vec![1.0, 2.0])),
            input_scale: 0.5,
        };
        p.check((2, 1, 2)).unwrap();
        // Swapped: [100, 200, 10, 20]; ×2; − [1, 1, 2, 2]; ×0.5.
        assert_eq!(p.apply(&two_by_one()), vec![99.5, 199.5, 9.0, 19.0]);
    }

    #[test]
    fn defaults_leave_pixels_unchanged_and_image_means_go_pixel_by_pixel() {
        assert_eq!(
            Preprocess::default().apply(&two_by_one()),
            vec![10.0, 20.0, 100.0, 200.0]
        );
        let p = Preprocess {
            mean: Some(Mean::Image(vec![1.0, 2.0, 3.0, 4.0])),
            ..Preprocess::default()
        };
        assert_eq!(p.apply(&two_by_one()), vec![9.0, 18.0, 97.0, 196.0]);
    }

    #[test]
    fn mean_files_of_another_size_become_channel_means() {
        let file = MeanImage {
            chw: (2, 1, 2),
            data: vec![1.0, 3.0, 10.0, 30.0],
        };
        assert_eq!(
            Mean::from_file(&file, (2, 4, 4)).unwrap(),
            Mean::PerChannel(vec![2.0, 20.0])
        );
        assert_eq!(
            Mean::from_file(&file, (2, 1, 2)).unwrap(),
            Mean::Image(vec![1.0, 3.0, 10.0, 30.0])
        );
        assert!(Mean::from_file(&file, (3, 1, 2)).is_err());
    }

    #[test]
    fn bad_options_are_refused() {
        let swap = Preprocess {
            channel_swap: Some(vec![0, 0, 1]),
            ..Preprocess::default()
        };
        assert!(swap.check((3, 2, 2)).is_err());
        let mean = Preprocess {
            mean: Some(Mean::PerChannel(vec![1.0])),
            ..Preprocess::default()
        };
        assert!(mean.check((3, 2, 2)).is_err());
    }
}
