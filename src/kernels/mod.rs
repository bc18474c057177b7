//! Numerical kernels on plain slices: im2col/col2im, a GEMM wrapper, and the
//! per-image convolution primitives built from them. Nothing here knows about
//! layers, blobs or Caffe's parameter messages.

pub mod conv;
pub mod gemm;
pub mod im2col;
pub mod parallel;
pub mod phases;
pub mod pool;
pub mod simd;
