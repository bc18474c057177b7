//! Parameters of the element-wise (neuron) layers and of Bias and Scale.

use super::{Engine, FillerParameter};

caffe_message! {
    /// ReLU, leaky when `negative_slope` is non-zero.
    pub struct ReLUParameter {
        opt negative_slope: f32 = 0.0;
        opt engine: Engine = Engine::Default;
    }
}

caffe_message! {
    /// PReLU: a ReLU with learned negative slopes.
    pub struct PReLUParameter {
        /// The slopes' initial values (constant 0.25 when unset).
        msg filler: FillerParameter;
        /// One slope for all channels instead of one per channel.
        opt channel_shared: bool = false;
    }
}

caffe_message! {
    /// ELU: x for x > 0, alpha·(exp(x) − 1) otherwise.
    pub struct ELUParameter {
        opt alpha: f32 = 1.0;
    }
}

caffe_message! {
    /// Sigmoid.
    pub struct SigmoidParameter {
        opt engine: Engine = Engine::Default;
    }
}

caffe_message! {
    /// TanH.
    pub struct TanHParameter {
        opt engine: Engine = Engine::Default;
    }
}

caffe_message! {
    /// Power: y = (shift + scale·x)^power.
    pub struct PowerParameter {
        opt power: f32 = 1.0;
        opt scale: f32 = 1.0;
        opt shift: f32 = 0.0;
    }
}

caffe_message! {
    /// Exp: y = base^(shift + scale·x); base −1 means e.
    pub struct ExpParameter {
        opt base: f32 = -1.0;
        opt scale: f32 = 1.0;
        opt shift: f32 = 0.0;
    }
}

caffe_message! {
    /// Log: y = log_base(shift + scale·x); base −1 means e.
    pub struct LogParameter {
        opt base: f32 = -1.0;
        opt scale: f32 = 1.0;
        opt shift: f32 = 0.0;
    }
}

caffe_message! {
    /// Threshold: y = 1 if x > threshold, else 0.
    pub struct ThresholdParameter {
        opt threshold: f32 = 0.0;
    }
}

caffe_message! {
    /// Clip: y = min(max(x, min), max). Both fields are required in Caffe.
    pub struct ClipParameter {
        opt min: f32 = 0.0;
        opt max: f32 = 0.0;
    }
}

caffe_message! {
    /// Swish: y = x·sigmoid(beta·x).
    pub struct SwishParameter {
        opt beta: f32 = 1.0;
    }
}

caffe_message! {
    /// Bias: adds `bottom[1]` (or a learned blob) to `bottom[0]`, broadcast from `axis`.
    pub struct BiasParameter {
        opt axis: i32 = 1;
        /// Axes the learned bias covers (one bottom only); −1 = all from `axis`.
        opt num_axes: i32 = 1;
        /// The learned bias's filler (constant 0 when unset).
        msg filler: FillerParameter;
    }
}

caffe_message! {
    /// Scale: multiplies `bottom[0]` by `bottom[1]` (or a learned blob), broadcast from `axis`.
    pub struct ScaleParameter {
        opt axis: i32 = 1;
        /// Axes the learned scale covers (one bottom only); −1 = all from `axis`.
        opt num_axes: i32 = 1;
        /// The learned scale's filler (constant 1 when unset).
        msg filler: FillerParameter;
        /// Also learn a bias, as a Bias layer would.
        opt bias_term: bool = false;
        msg bias_filler: FillerParameter;
    }
}
