//! `caffers classify`: Caffe's classification.bin / classify.py — PNG and JPEG
//! files through a deploy net and trained weights, each image's top-K classes
//! printed (as classification.cpp does, or one JSON object a line).

use std::path::PathBuf;

use clap::Args;

use crate::classify::{classify, ClassifyOptions, Fit, MeanSource, Prediction};
use crate::data::feed::preprocess::Preprocess;
use crate::error::Result;

#[derive(Args, Debug, Clone)]
pub struct ClassifyArgs {
    /// The deploy net (.prototxt) with one Input layer for the images.
    #[arg(long)]
    pub model: PathBuf,
    /// Trained weights (.caffemodel).
    #[arg(long)]
    pub weights: PathBuf,
    /// Mean image (.binaryproto): subtracted pixel by pixel when it is the input's
    /// size, otherwise as its per-channel means.
    #[arg(long, conflicts_with = "mean_value")]
    pub mean_file: Option<PathBuf>,
    /// Mean per channel, in the net's channel order (one value: every channel).
    #[arg(long, value_delimiter = ',')]
    pub mean_value: Vec<f32>,
    /// Multiplies the values after the mean is subtracted (transform_param's scale).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f32,
    /// pycaffe's raw_scale: pixels are taken as [0, 1] times this (255 keeps 0–255).
    #[arg(long, default_value_t = 255.0)]
    pub raw_scale: f32,
    /// Reorders channels: new channel i is decoded channel SWAP[i] (images decode as BGR).
    #[arg(long, value_delimiter = ',')]
    pub channel_swap: Option<Vec<usize>>,
    /// Class labels, one a line (the whole line is the label).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// How many classes to show per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Classify the centre crop of the input's size instead of the resized image.
    #[arg(long, conflicts_with = "oversample")]
    pub center_crop: bool,
    /// Average the four corner and the centre crops and their mirror images.
    #[arg(long)]
    pub oversample: bool,
    /// One JSON object a line: {"image", "top": [{"index", "label", "prob"}]}.
    #[arg(long)]
    pub json: bool,
    /// The images (PNG or JPEG).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

fn print(prediction: &Prediction, json: bool) {
    if json {
        let top: Vec<serde_json::Value> = prediction
            .top
            .iter()
            .map(|c| serde_json::json!({ "index": c.index, "label": c.label, "prob": c.prob }))
            .collect();
        let line =
            serde_json::json!({ "image": prediction.image.display().to_string(), "top": top });
        println!("{line}");
        return;
    }
    println!(
        "---------- Prediction for {} ----------",
        prediction.image.display()
    );
    for c in &prediction.top {
        match &c.label {
            Some(l) => println!("{:.4} - \"{l}\"", c.prob),
            None => println!("{:.4} - {}", c.prob, c.index),
        }
    }
}

pub fn run(args: &ClassifyArgs) -> Result<()> {
    let fit = if args.oversample {
        Fit::Oversample
    } else if args.center_crop {
        Fit::CenterCrop
    } else {
        Fit::Resize
    };
    let mean = match (&args.mean_file, &args.mean_value[..]) {
        (Some(path), _) => MeanSource::File(path.clone()),
        (None, []) => MeanSource::None,
        (None, values) => MeanSource::Values(values.to_vec()),
    };
    let options = ClassifyOptions {
        model: args.model.clone(),
        weights: args.weights.clone(),
        preprocess: Preprocess {
            channel_swap: args.channel_swap.clone(),
            raw_scale: args.raw_scale,
            mean: None,
            input_scale: args.scale,
        },
        mean,
        fit,
        top: args.top,
        labels: args.labels.clone(),
        batch: 64,
    };
    let predictions = classify(&options, &args.images)?;
    for p in &predictions {
        print(p, args.json);
    }
    Ok(())
}
