//! Files Caffe users have, in their binary forms.

pub mod atomic;
pub mod blob_proto;
pub mod caffemodel;
pub mod hdf5;
pub mod npy;
pub mod picture;
pub mod solverstate;
