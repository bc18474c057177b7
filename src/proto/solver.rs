//! The solver definition and the solver state saved in snapshots.

use super::{BlobProto, NetParameter, NetState};

caffe_message! {
    /// How to train: the nets, the learning-rate schedule, the update rule,
    /// testing, display and snapshots.
    pub struct SolverParameter {
        /// A net file holding the train net and possibly the test nets.
        string net = "";
        /// The same, inline.
        msg net_param: NetParameter;
        /// A file holding only the train net.
        string train_net = "";
        /// Files holding test nets.
        rep test_net: String;
        msg train_net_param: NetParameter;
        rep test_net_param: NetParameter;
        /// The train net's state (phase TRAIN is forced).
        msg train_state: NetState;
        /// One state per test net (phase TEST is forced).
        rep test_state: NetState;
        /// Batches per test, one value per test net.
        rep test_iter: i32;
        /// Iterations between tests; 0 = never.
        opt test_interval: i32 = 0;
        opt test_compute_loss: bool = false;
        /// Test before the first iteration.
        opt test_initialization: bool = true;
        opt base_lr: f32 = 0.0;
        /// Iterations between log lines; 0 = none.
        opt display: i32 = 0;
        /// The displayed loss is averaged over this many iterations.
        opt average_loss: i32 = 1;
        opt max_iter: i32 = 0;
        /// Accumulate gradients over this many batches per update.
        opt iter_size: i32 = 1;
        /// fixed, step, exp, inv, multistep, poly or sigmoid.
        string lr_policy = "";
        opt gamma: f32 = 0.0;
        opt power: f32 = 0.0;
        opt momentum: f32 = 0.0;
        opt weight_decay: f32 = 0.0;
        /// "L2" or "L1".
        string regularization_type = "L2";
        /// For the step and sigmoid policies.
        opt stepsize: i32 = 0;
        /// For the multistep policy.
        rep stepvalue: i32;
        /// Clip gradients to this global L2 norm; negative = off.
        opt clip_gradients: f32 = -1.0;
        /// Iterations between snapshots; 0 = none.
        opt snapshot: i32 = 0;
        string snapshot_prefix = "";
        /// Save gradients too.
        opt snapshot_diff: bool = false;
        opt snapshot_format: SnapshotFormat = SnapshotFormat::Binaryproto;
        opt solver_mode: SolverMode = SolverMode::Gpu;
        opt device_id: i32 = 0;
        /// Non-negative: seed the random generator; −1 = seed from the clock.
        opt random_seed: i64 = -1;
        /// SGD, Nesterov, AdaGrad, RMSProp, AdaDelta or Adam.
        string r#type = "SGD";
        /// Numerical stability term of AdaGrad, RMSProp, AdaDelta and Adam.
        opt delta: f32 = 1e-8;
        /// Adam's β2.
        opt momentum2: f32 = 0.999;
        /// RMSProp's decay.
        opt rms_decay: f32 = 0.99;
        opt debug_info: bool = false;
        /// Snapshot when training ends.
        opt snapshot_after_train: bool = true;
        /// Deprecated: use `type` (see [`upgrade_solver`](super::upgrade_solver)).
        opt solver_type: SolverType = SolverType::Sgd;
        /// Overlap gradient communication with backward (multi-GPU).
        opt layer_wise_reduce: bool = true;
        /// Weight files to initialise the train net from.
        rep weights: String;
        /// caffers extension, not in Caffe: keep an exponential moving average of
        /// the weights with this decay (0 = off), test with it and snapshot it as
        /// `<prefix>_iter_N.ema.caffemodel` (see src/solver/moving_average.rs).
        opt moving_average_decay: f32 = 0.0;
    }
}

caffe_enum! {
    /// The file format of snapshots.
    pub enum SnapshotFormat { Hdf5 = 0 => "HDF5", Binaryproto = 1 => "BINARYPROTO" }
}

caffe_enum! {
    /// Where the solver runs.
    pub enum SolverMode { Cpu = 0 => "CPU", Gpu = 1 => "GPU" }
}

caffe_enum! {
    /// Deprecated solver type enum, replaced by the `type` string.
    pub enum SolverType {
        Sgd = 0 => "SGD",
        Nesterov = 1 => "NESTEROV",
        Adagrad = 2 => "ADAGRAD",
        Rmsprop = 3 => "RMSPROP",
        Adadelta = 4 => "ADADELTA",
        Adam = 5 => "ADAM",
    }
}

impl SolverType {
    /// The `type` string that replaces this value.
    pub fn type_name(self) -> &'static str {
        match self {
            SolverType::Sgd => "SGD",
            SolverType::Nesterov => "Nesterov",
            SolverType::Adagrad => "AdaGrad",
            SolverType::Rmsprop => "RMSProp",
            SolverType::Adadelta => "AdaDelta",
            SolverType::Adam => "Adam",
        }
    }
}

caffe_message! {
    /// A solver snapshot (.solverstate): where training stopped and the update history.
    pub struct SolverState {
        opt iter: i32 = 0;
        /// The path of the caffemodel saved with this state.
        string learned_net = "";
        /// The solver's history blobs (e.g. momentum), per learnable parameter.
        rep history: BlobProto;
        /// The multistep policy's current step.
        opt current_step: i32 = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use crate::proto::Phase;

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> crate::Result<T> {
        let src = SourceFile::new("t.prototxt", text);
        crate::text::from_message(&src, &crate::text::parse(&src)?)
    }

    #[test]
    fn solver_fields_and_defaults() {
        let s: SolverParameter = read(
            r#"
            net: "lenet.prototxt"
            test_iter: 100 test_interval: 500
            base_lr: 0.01 momentum: 0.9 weight_decay: 0.0005
            lr_policy: "multistep" gamma: 0.1 stepvalue: 1000 stepvalue: 2000
            display: 100 max_iter: 10000 snapshot: 5000 snapshot_prefix: "lenet"
            solver_mode: CPU snapshot_format: HDF5 random_seed: 1701
            test_state { stage: "val" }
            train_state { level: 2 }
            "#,
        )
        .unwrap();
        assert_eq!(s.net(), "lenet.prototxt");
        assert_eq!(s.test_iter, vec![100]);
        assert_eq!(s.test_interval(), 500);
        assert_eq!(s.base_lr(), 0.01);
        assert_eq!(s.stepvalue, vec![1000, 2000]);
        assert_eq!(s.solver_mode(), SolverMode::Cpu);
        assert_eq!(s.snapshot_format(), SnapshotFormat::Hdf5);
        assert_eq!(s.random_seed(), 1701);
        assert_eq!(s.test_state[0].stage, vec!["val"]);
        assert_eq!(s.test_state[0].phase(), Phase::Test);
        assert_eq!(s.train_state().level(), 2);

        let d = SolverParameter::default();
        assert_eq!(d.r#type(), "SGD");
        assert_eq!(d.solver_mode(), SolverMode::Gpu);
        assert_eq!(d.snapshot_format(), SnapshotFormat::Binaryproto);
        assert_eq!(d.random_seed(), -1);
        assert_eq!(d.clip_gradients(), -1.0);
        assert_eq!(d.regularization_type(), "L2");
        assert_eq!((d.average_loss(), d.iter_size()), (1, 1));
        assert_eq!(
            (d.delta(), d.momentum2(), d.rms_decay()),
            (1e-8, 0.999, 0.99)
        );
        assert!(d.test_initialization() && d.snapshot_after_train() && d.layer_wise_reduce());
        assert!(!d.test_compute_loss() && !d.snapshot_diff() && !d.debug_info());
        assert_eq!(d.solver_type, None);
    }

    #[test]
    fn solver_state_reads() {
        let st: SolverState = read(
            "iter: 500 learned_net: 'x_iter_500.caffemodel' current_step: 1 \
             history { shape { dim: 2 } data: [0.5, -0.5] }",
        )
        .unwrap();
        assert_eq!(st.iter(), 500);
        assert_eq!(st.learned_net(), "x_iter_500.caffemodel");
        assert_eq!(st.current_step(), 1);
        assert_eq!(st.history[0].data, vec![0.5, -0.5]);
        assert_eq!(st.history[0].shape().dim, vec![2]);
    }
}
