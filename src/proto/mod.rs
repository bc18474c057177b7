//! The typed Caffe schema: every message of caffe.proto that a prototxt or solver
//! file can hold, with Caffe's field names and defaults (see [`macros`] for how a
//! message is declared). Text, TOML and (through src/io) binary files all land here.

#[macro_use]
pub mod macros;
pub mod common;

pub use common::*;

/// Whether a field holds nothing, so the printer can skip it.
pub trait Unset {
    fn is_unset(&self) -> bool;
}

impl<T> Unset for Option<T> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

impl<T> Unset for Vec<T> {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}
