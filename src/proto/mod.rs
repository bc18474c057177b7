//! The typed Caffe schema: every message of caffe.proto that a prototxt or solver
//! file can hold, with Caffe's field names and defaults (see [`macros`] for how a
//! message is declared). Text, TOML and (through src/io) binary files all land here.

#[macro_use]
pub mod macros;
pub mod common;
pub mod data_params;
pub mod loss_params;
pub mod net;
pub mod neuron_params;
pub mod solver;
pub mod upgrade;
pub mod utility_params;
pub mod v1;
pub mod vision_params;

pub use common::*;
pub use data_params::*;
pub use loss_params::*;
pub use net::*;
pub use neuron_params::*;
pub use solver::*;
pub use upgrade::*;
pub use utility_params::*;
pub use v1::*;
pub use vision_params::*;

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
