//! caffers: a Caffe-compatible, prototxt-driven convolutional-network trainer and runner.

pub mod error;
pub mod proto;
pub mod text;

pub use error::{Error, Result};
