//! caffers: a Caffe-compatible, prototxt-driven convolutional-network trainer and runner.
//!
//! The flow a file takes: text ([`text`]) → typed Caffe schema ([`proto`], upgraded
//! on [`load`]) → shaped graph ([`net`]) of [`layers`] → [`solver`]; [`cli`] wraps it.

// Each unsafe operation inside an `unsafe fn` gets its own block and SAFETY note.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod blob;
pub mod byte_size;
pub mod check;
pub mod cli;
pub mod data;
pub mod error;
pub mod fillers;
pub mod io;
pub mod kernels;
pub mod layers;
pub mod load;
pub mod log;
pub mod net;
pub mod proto;
pub mod rng;
pub mod settings;
pub mod shape;
pub mod solver;
pub mod text;

pub use error::{Error, Result};
