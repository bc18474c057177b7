//! Solvers: settings checks, learning-rate policies, the six update rules, and the
//! iteration loop.

pub mod lr_policy;
pub mod solve;
pub mod update;
pub mod validate;

pub use solve::{Solver, TestNet};
pub use validate::validate;
