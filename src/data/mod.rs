//! Data on disk, as Caffe keeps it: `Datum` records in LMDBs, mean images in
//! `.binaryproto` files, the DataTransformer, a prefetch thread, and the tools that
//! make datasets (MNIST, CIFAR-10, image lists) and mean files.

pub mod binaryproto;
pub mod cifar10;
pub mod datum;
pub mod image;
pub mod imageset;
pub mod lmdb;
pub mod mean;
pub mod mnist;
pub mod prefetch;
pub mod prepare;
pub mod transform;
