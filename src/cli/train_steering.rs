//! `caffers train`'s flags for steering a run: solver fields set on the command
//! line, resuming from the newest state, what signals do, and Caffe's `-gpu`.

use clap::Args;

use super::signals::SignalEffect;
use crate::log::info;

#[derive(Args, Debug, Clone)]
pub struct SteeringArgs {
    /// Override a solver field, as written in the solver file (repeatable):
    /// --set base_lr=0.01 --set max_iter=500 --set lr_policy=step.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Continue from the newest <prefix>_iter_N.solverstate (by N).
    #[arg(long, conflicts_with_all = ["snapshot", "weights"])]
    pub resume: bool,
    /// What SIGINT (Ctrl-C) does, as Caffe's -sigint_effect.
    #[arg(long = "sigint-effect", value_enum, default_value = "stop")]
    pub sigint_effect: SignalEffect,
    /// What SIGHUP does, as Caffe's -sighup_effect.
    #[arg(long = "sighup-effect", value_enum, default_value = "snapshot")]
    pub sighup_effect: SignalEffect,
    /// Caffe's -gpu: accepted so Caffe's scripts run; caffers trains on the CPU.
    #[arg(long, value_name = "IDS")]
    pub gpu: Option<String>,
}

impl SteeringArgs {
    /// Says that `-gpu` is not acted on, when it was given.
    pub fn note_gpu(&self) {
        if let Some(ids) = &self.gpu {
            info(
                "caffe.cpp:214",
                &format!("warning: -gpu {ids} is ignored; caffers runs on the CPU"),
            );
        }
    }
}
