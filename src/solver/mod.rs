//! Solvers: settings checks, the train and test nets, learning-rate policies, the
//! six update rules, and the iteration loop.

pub mod divergence;
pub mod lr_policy;
pub mod moving_average;
pub mod nets;
pub mod prefix_lock;
pub mod progress;
pub mod resume;
pub mod snapshot_files;
pub mod solve;
pub mod update;
pub mod validate;

pub use solve::{Solver, TestNet};
pub use validate::{validate, SolverRules};
