//! The candle engine: the same prototxt and weights, forward and backward through
//! candle tensor ops on a `candle_core::Device` (the CPU, or CUDA in a build with
//! candle's CUDA backend). The native engine (`layers` over host blobs) stays the
//! default; this one reuses its graph, shapes, need-backward analysis and data
//! layers, and runs every other layer as candle ops ([`registry`]).

pub mod device;
pub mod export;
pub mod net;
pub mod ops;
pub mod registry;
pub mod run_net;
pub mod solver;
pub mod train;

pub use device::DeviceSpec;
pub use net::CandleNet;
pub use run_net::RunNet;
pub use solver::CandleSolver;
