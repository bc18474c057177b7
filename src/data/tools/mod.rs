//! The dataset tools: Caffe's converters and compute_image_mean, and `prepare`,
//! which runs them for a training run's missing data. They write the formats of
//! [`crate::data::feed`].

pub mod bounded;
pub mod cifar10;
pub mod data_dir;
pub mod download;
pub mod imageset;
pub mod mean;
pub mod mnist;
pub mod prepare;
pub mod staged;
