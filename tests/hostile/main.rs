//! Hostile inputs and faults, through the real command line: every case must end in a
//! clean error (exit status 1, a message naming the file, layer or record, no panic, no
//! abort, no signal) or in a correct result. One module per class of fault.

mod data;
mod divergence;
mod sizes;
mod snapshots;
mod support;
mod text;
