//! Solvers: the settings check now; update rules, lr policies and the training loop
//! arrive with training support.

pub mod validate;

pub use validate::validate;
