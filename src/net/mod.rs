//! From a NetParameter to a shaped graph: NetState filtering, blob wiring, shapes.

pub mod budget;
pub mod debug_info;
pub mod filter;
pub mod from_file;
pub mod given_inputs;
pub mod graph;
pub mod non_finite;
pub mod random_inputs;
pub mod report;
pub mod run;
pub mod weights;

pub use from_file::{graph_of, NetOptions};
pub use graph::{build, net_state, BlobNode, LayerNode, NetGraph, Slot};
pub use run::{Net, ParamInfo};
pub use weights::CopiedLayers;
