//! Files Caffe users have, in their binary forms.

pub mod npy;
