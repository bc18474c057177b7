//! From a NetParameter to a shaped graph: NetState filtering, blob wiring, shapes.

pub mod filter;
pub mod graph;
pub mod run;
pub mod weights;

pub use graph::{build, net_state, BlobNode, LayerNode, NetGraph, NetSource, Slot};
pub use run::{Net, NetOptions, ParamInfo};
