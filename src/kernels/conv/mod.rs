//! One image's grouped 2-D convolution and the [`Plan`] that runs it over a
//! batch. Imports run one way: [`shape`] ← the primitives ([`columns`]:
//! im2col + GEMM, [`implicit`]: without a column matrix, [`depthwise`],
//! [`flipped`]: the data gradient as a convolution) ← [`plan`], which picks
//! among them.

pub mod columns;
pub mod depthwise;
pub mod flipped;
pub mod implicit;
pub mod plan;
pub mod shape;
#[cfg(test)]
pub(crate) mod testing;

pub use plan::{BackwardPass, Plan};
pub use shape::ConvShape;
