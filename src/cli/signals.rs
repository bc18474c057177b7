//! What signals do to a training run, as Caffe's `-sigint_effect` and
//! `-sighup_effect` (defaults: SIGINT stops, SIGHUP snapshots and goes on).
//! SIGTERM — what service managers and `kill` send — snapshots and stops, so no
//! work since the last periodic snapshot is lost. The handlers only set the
//! solver's request flags; the solver acts on them between iterations.

use std::sync::atomic::Ordering;

use clap::ValueEnum;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::error::{Error, Result};
use crate::solver::solve::{SNAPSHOT_REQUESTED, STOP_REQUESTED};

/// Caffe's SolverAction for a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignalEffect {
    /// Snapshot (when snapshot_after_train, as Caffe) and stop after the current iteration.
    Stop,
    /// Snapshot after the current iteration and go on.
    Snapshot,
    /// Ignore the signal.
    None,
}

/// Installs the handlers for SIGINT, SIGHUP and SIGTERM.
pub fn install(sigint: SignalEffect, sighup: SignalEffect) -> Result<()> {
    for (signal, effect) in [(SIGINT, sigint), (SIGHUP, sighup)] {
        register(signal, move || request(effect))?;
    }
    register(SIGTERM, || {
        SNAPSHOT_REQUESTED.store(true, Ordering::SeqCst);
        STOP_REQUESTED.store(true, Ordering::SeqCst);
    })
}

fn request(effect: SignalEffect) {
    match effect {
        SignalEffect::Stop => STOP_REQUESTED.store(true, Ordering::SeqCst),
        SignalEffect::Snapshot => SNAPSHOT_REQUESTED.store(true, Ordering::SeqCst),
        SignalEffect::None => {}
    }
}

fn register(signal: i32, action: impl Fn() + Sync + Send + 'static) -> Result<()> {
    // SAFETY: the actions only store to atomics, which is async-signal-safe.
    unsafe { signal_hook::low_level::register(signal, action) }
        .map(|_| ())
        .map_err(|e| {
            Error::Usage(format!(
                "cannot install the handler for signal {signal}: {e}"
            ))
        })
}
