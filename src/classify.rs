//! `caffers classify` as a library function: Caffe's classification.cpp and
//! pycaffe's classify.py for PNG/JPEG files — decode, fit to the deploy net's
//! Input (resize, or crops), preprocess as pycaffe's Transformer, forward in
//! batches, and the top-K classes of each image.
//!
//! The output blob is read as probabilities, as classification.cpp does: it is the
//! net's first output (a deploy net's `prob`); when no Softmax makes it, a warning
//! says the values are raw scores.

use std::path::{Path, PathBuf};

use crate::data::feed::image::{decode_hwc, hwc_to_image, resize_hwc, ColorMode, Image};
use crate::data::feed::mean_file;
use crate::data::feed::preprocess::{Mean, Preprocess};
use crate::error::{Error, Result};
use crate::load::load_net;
use crate::log::warning;
use crate::net::{graph_of, Net, NetOptions};
use crate::proto::NetState;

/// How an image is fitted to the net's H×W input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Resize the whole image to H×W (bilinear; classification.cpp).
    Resize,
    /// The centre H×W crop (classify.py's --center_only).
    CenterCrop,
    /// The four corner crops and the centre crop, each also mirrored; their
    /// probabilities averaged (classify.py's default, caffe.io.oversample).
    Oversample,
}

/// Where the mean to subtract comes from; resolved against the net's input.
#[derive(Debug, Clone, PartialEq)]
pub enum MeanSource {
    None,
    /// A `.binaryproto` mean image (see [`Mean::from_file`]).
    File(PathBuf),
    /// Values per channel; one value stands for every channel (Caffe's rule).
    Values(Vec<f32>),
}

impl MeanSource {
    fn resolve(&self, chw: (usize, usize, usize)) -> Result<Option<Mean>> {
        Ok(match self {
            MeanSource::None => None,
            MeanSource::File(path) => {
                let file = mean_file::read(path).map_err(Error::Usage)?;
                let mean = Mean::from_file(&file, chw)
                    .map_err(|e| Error::Usage(format!("--mean-file {}: {e}", path.display())))?;
                Some(mean)
            }
            MeanSource::Values(v) if v.len() == 1 => Some(Mean::PerChannel(vec![v[0]; chw.0])),
            MeanSource::Values(v) => Some(Mean::PerChannel(v.clone())),
        })
    }
}

/// Everything `classify` needs besides the images.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    pub model: PathBuf,
    pub weights: PathBuf,
    /// Preprocessing; its mean is set from `mean`.
    pub preprocess: Preprocess,
    pub mean: MeanSource,
    pub fit: Fit,
    pub top: usize,
    /// Class labels, one a line (see [`read_labels`]).
    pub labels: Option<PathBuf>,
    /// Images per forward pass.
    pub batch: usize,
}

/// One of an image's best classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    pub index: usize,
    /// From the labels file, when one was given.
    pub label: Option<String>,
    pub prob: f32,
}

/// One image's best classes, most probable first.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub image: PathBuf,
    pub top: Vec<Class>,
}

/// Reads a labels file: one label a line, the whole line (synset_words.txt style).
pub fn read_labels(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::file(
            path.display().to_string(),
            format!("cannot read labels: {e}"),
        )
    })?;
    Ok(text.lines().map(str::to_string).collect())
}

/// Crops of `h`×`w` from a C×H×W image: the centre, or the four corners and the
/// centre followed by their mirror images (caffe.io.oversample's order).
fn crops(image: &Image, h: usize, w: usize, fit: Fit) -> Vec<Image> {
    let (ih, iw) = (image.height, image.width);
    let centre = ((ih - h) / 2, (iw - w) / 2);
    let origins = match fit {
        Fit::Oversample => vec![(0, 0), (0, iw - w), (ih - h, 0), (ih - h, iw - w), centre],
        _ => vec![centre],
    };
    let cut = |(y0, x0): (usize, usize), mirror: bool| {
        let mut values = Vec::with_capacity(image.channels * h * w);
        for c in 0..image.channels {
            for y in 0..h {
                for x in 0..w {
                    let sx = if mirror { w - 1 - x } else { x };
                    values.push(image.values[(c * ih + y0 + y) * iw + x0 + sx]);
                }
            }
        }
        Image {
            channels: image.channels,
            height: h,
            width: w,
            values,
        }
    };
    let mut out: Vec<Image> = origins.iter().map(|&o| cut(o, false)).collect();
    if fit == Fit::Oversample {
        out.extend(origins.iter().map(|&o| cut(o, true)));
    }
    out
}

/// Decodes an image with the input's channel count and fits it to `h`×`w`: the
/// net inputs (before preprocessing) it contributes. Crops come from the image at
/// its own size, enlarged first (bilinear) where it is smaller than the input.
fn fitted(path: &Path, (c, h, w): (usize, usize, usize), fit: Fit) -> Result<Vec<Image>> {
    let shown = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    let mode = match c {
        1 => ColorMode::Gray,
        3 => ColorMode::Color,
        _ => {
            return Err(Error::Usage(format!(
                "the net's input has {c} channels; images give 1 (grey) or 3 (colour)"
            )))
        }
    };
    let (_, ih, iw, hwc) = decode_hwc(&bytes, mode).map_err(|e| Error::file(&shown, e))?;
    let (nh, nw) = match fit {
        Fit::Resize => (h, w),
        Fit::CenterCrop | Fit::Oversample => (ih.max(h), iw.max(w)),
    };
    let image = hwc_to_image(c, nh, nw, &resize_hwc(c, ih, iw, &hwc, nh, nw));
    Ok(match fit {
        Fit::Resize => vec![image],
        _ => crops(&image, h, w, fit),
    })
}

/// The indices and values of the `k` largest values, largest first (ties: lower
/// index first).
fn top_k(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.into_iter().take(k).map(|i| (i, values[i])).collect()
}

/// Classifies `images` with the deploy net; one prediction per image, in order.
pub fn classify(options: &ClassifyOptions, images: &[PathBuf]) -> Result<Vec<Prediction>> {
    let loaded = load_net(&options.model)?;
    let state = NetState::default();
    let probe = graph_of(&loaded, &state, &NetOptions::default())?;
    let net_error = |message: String| Error::Net {
        net: probe.name.clone(),
        message,
    };
    let inputs: Vec<&str> = probe
        .layers
        .iter()
        .filter(|l| l.type_name() == "Input")
        .flat_map(|l| l.param.top.iter().map(String::as_str))
        .collect();
    let [input] = inputs[..] else {
        return Err(net_error(format!(
            "classify needs a deploy net with one Input top for the images, and this one has {}",
            if inputs.is_empty() {
                "none".to_string()
            } else {
                inputs.join(", ")
            }
        )));
    };
    let chw = match probe.blob(input).map(|b| &b.shape[..]) {
        Some(&[_, c, h, w]) => (c, h, w),
        other => {
            return Err(net_error(format!(
                "its Input `{input}` has shape {other:?}; classify needs N×C×H×W"
            )))
        }
    };
    let Some(&output) = probe.outputs.first() else {
        return Err(net_error(
            "it has no output blob to read classes from".into(),
        ));
    };
    let output = probe.blobs[output].name.clone();
    let preprocess = Preprocess {
        mean: options.mean.resolve(chw)?,
        ..options.preprocess.clone()
    };
    preprocess.check(chw).map_err(Error::Usage)?;

    let per_image = if options.fit == Fit::Oversample {
        10
    } else {
        1
    };
    let batch = options.batch.max(1).min(images.len().max(1) * per_image);
    let batch = batch.div_ceil(per_image) * per_image;
    // Caffe's Net::Reshape for a bigger batch: the Input's first dimension.
    let mut batched = loaded.clone();
    for layer in batched
        .net
        .layer
        .iter_mut()
        .filter(|l| l.top.iter().any(|t| t == input))
    {
        if let Some(shape) = layer.input_param.as_mut().and_then(|p| p.shape.first_mut()) {
            if let Some(n) = shape.dim.first_mut() {
                *n = batch as i64;
            }
        }
    }
    let mut net = Net::from_loaded(&batched, &state, &NetOptions::default())?;
    net.load_caffemodel(&options.weights)?
        .warn_uncovered(&options.weights);
    let producer = net
        .graph
        .blob(&output)
        .and_then(|b| b.producers.last().copied());
    if producer.is_none_or(|p| net.graph.layers[p].type_name() != "Softmax") {
        warning(
            "classify.rs",
            &format!("output `{output}` is not made by a Softmax layer: the values shown as probabilities are its raw scores"),
        );
    }

    let classes = net.blob_data(&output).map_or(0, <[f32]>::len) / batch;
    let labels = match &options.labels {
        Some(path) => {
            let labels = read_labels(path)?;
            if labels.len() != classes {
                return Err(Error::file(
                    path.display().to_string(),
                    format!(
                        "has {} label(s), but the net's output `{output}` has {classes} classes (one label a line)",
                        labels.len()
                    ),
                ));
            }
            labels
        }
        None => Vec::new(),
    };
    let input_len = chw.0 * chw.1 * chw.2;
    let mut predictions = Vec::with_capacity(images.len());
    for chunk in images.chunks(batch / per_image) {
        let mut data = vec![0.0; batch * input_len];
        for (i, path) in chunk.iter().enumerate() {
            for (j, crop) in fitted(path, chw, options.fit)?.iter().enumerate() {
                let at = (i * per_image + j) * input_len;
                data[at..at + input_len].copy_from_slice(&preprocess.apply(crop));
            }
        }
        net.set_input(input, &data)?;
        net.forward()?;
        let out = net.blob_data(&output).expect("the output blob exists");
        for (i, path) in chunk.iter().enumerate() {
            let mut mean = vec![0.0f32; classes];
            for j in 0..per_image {
                let row = &out[(i * per_image + j) * classes..][..classes];
                mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= per_image as f32);
            predictions.push(Prediction {
                image: path.clone(),
                top: top_k(&mean, options.top)
                    .into_iter()
                    .map(|(index, prob)| Class {
                        index,
                        label: labels.get(index).cloned(),
                        prob,
                    })
                    .collect(),
            });
        }
    }
    Ok(predictions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_value_then_index() {
        assert_eq!(
            top_k(&[0.1, 0.5, 0.2, 0.5], 3),
            vec![(1, 0.5), (3, 0.5), (2, 0.2)]
        );
        assert_eq!(top_k(&[0.1], 5), vec![(0, 0.1)]);
    }

    #[test]
    fn oversample_takes_corners_centre_and_mirrors() {
        // One 3×3 channel with values 0..9; 2×2 crops.
        let image = Image {
            channels: 1,
            height: 3,
            width: 3,
            values: (0..9).map(|v| v as f32).collect(),
        };
        let c = crops(&image, 2, 2, Fit::Oversample);
        assert_eq!(c.len(), 10);
        assert_eq!(c[0].values, vec![0.0, 1.0, 3.0, 4.0]);
        assert_eq!(c[3].values, vec![4.0, 5.0, 7.0, 8.0]);
        assert_eq!(
            c[4].values,
            vec![0.0, 1.0, 3.0, 4.0],
            "centre of an odd margin rounds down"
        );
        assert_eq!(c[5].values, vec![1.0, 0.0, 4.0, 3.0], "mirror of the first");
        assert_eq!(crops(&image, 2, 2, Fit::CenterCrop).len(), 1);
    }
}
