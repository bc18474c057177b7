//! caffers: a Caffe-compatible, prototxt-driven convolutional-network trainer and runner.
//!
//! The flow a file takes: text ([`text`]) → typed Caffe schema ([`proto`], upgraded
//! on [`load`]) → shaped graph ([`net`]) of [`layers`] (math in [`kernels`], data from
//! [`data`]) → [`solver`]; [`cli`] wraps it.

// Each unsafe operation inside an `unsafe fn` gets its own block and SAFETY note.
#![deny(unsafe_op_in_unsafe_fn)]

// Listed in the order data flows, one module a paragraph so that rustfmt keeps the
// order; each module imports only modules above it (scripts/module_deps.py checks it).

// Foundations: errors and source positions, log lines, the seeded generator, byte sizes.
pub mod error;

pub mod log;

pub mod rng;

pub mod byte_size;

// Text → typed schema → loaded files and run settings.
pub mod text;

pub mod proto;

pub mod load;

pub mod settings;

pub mod solver_overrides;

// Arrays and their binary formats.
pub mod shape;

pub mod blob;

pub mod io;

pub mod fillers;

// Numerical kernels, the data feed, layers, the net that runs them.
pub mod kernels;

pub mod data;

pub mod layers;

pub mod net;

// Training, checking, and the command line on top.
pub mod solver;

// The candle engine: the same graph on candle tensors, on any candle device.
pub mod engine;

pub mod check;

pub mod classify;

// Pictures: training curves and net drawings.
pub mod picture;

pub mod curves;

pub mod draw;

pub mod cli;

pub use error::{Error, Result};
