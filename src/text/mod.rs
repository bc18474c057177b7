//! The protobuf text format: grammar → span-carrying tree → serde, and back to text.

pub mod de;
pub mod parse;
pub mod print;
pub mod tree;

pub use de::from_message;
pub use parse::parse;
pub use print::to_prototxt;
pub use tree::{Field, Message, Span, Value};
