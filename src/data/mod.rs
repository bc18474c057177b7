//! Data on disk, as Caffe keeps it, in two parts:
//! - [`feed`]: what a training run reads — `Datum` records in LMDBs, image files and
//!   image lists, mean images, the DataTransformer and the prefetch thread;
//! - [`tools`]: what makes datasets before a run — the MNIST and CIFAR-10
//!   converters, convert_imageset, compute_image_mean and `prepare`.
//!
//! The tools build on the feed's formats; the feed never uses the tools.

pub mod feed;
pub mod tools;
