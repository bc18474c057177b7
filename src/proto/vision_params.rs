//! Parameters of the vision and common layers: convolution (also deconvolution
//! and im2col), pooling, SPP, crop, inner product, embed, recurrent, dropout and
//! the normalisation layers (LRN, MVN, BatchNorm).

use super::{Engine, FillerParameter};

caffe_message! {
    /// Convolution, Deconvolution and Im2col. `pad`, `kernel_size`, `stride` and
    /// `dilation` take one value for every spatial axis or one per axis.
    pub struct ConvolutionParameter {
        opt num_output: u32 = 0;
        opt bias_term: bool = true;
        /// Defaults to 0.
        rep pad: u32;
        rep kernel_size: u32;
        /// Defaults to 1.
        rep stride: u32;
        /// Defaults to 1.
        rep dilation: u32;
        /// 2-D only: the height/width forms of pad, kernel_size and stride.
        opt pad_h: u32 = 0;
        opt pad_w: u32 = 0;
        opt kernel_h: u32 = 0;
        opt kernel_w: u32 = 0;
        opt stride_h: u32 = 0;
        opt stride_w: u32 = 0;
        opt group: u32 = 1;
        msg weight_filler: FillerParameter;
        msg bias_filler: FillerParameter;
        opt engine: Engine = Engine::Default;
        /// The channel axis; earlier axes are independent, later ones spatial.
        opt axis: i32 = 1;
        opt force_nd_im2col: bool = false;
    }
}

caffe_message! {
    /// Crop: cuts `bottom[0]` to the shape of `bottom[1]` from `axis` on.
    pub struct CropParameter {
        opt axis: i32 = 2;
        /// One offset for every cropped axis, or one per cropped axis.
        rep offset: u32;
    }
}

caffe_message! {
    /// Pooling over 2-D windows.
    pub struct PoolingParameter {
        opt pool: PoolMethod = PoolMethod::Max;
        opt pad: u32 = 0;
        opt pad_h: u32 = 0;
        opt pad_w: u32 = 0;
        opt kernel_size: u32 = 0;
        opt kernel_h: u32 = 0;
        opt kernel_w: u32 = 0;
        opt stride: u32 = 1;
        opt stride_h: u32 = 0;
        opt stride_w: u32 = 0;
        opt engine: Engine = Engine::Default;
        /// Pool over the whole spatial extent of the bottom.
        opt global_pooling: bool = false;
        /// How the output size is rounded.
        opt round_mode: RoundMode = RoundMode::Ceil;
    }
}

caffe_message! {
    /// Median filter over 2-D windows (a caffers extension, not in caffe.proto):
    /// the window fields and defaults of PoolingParameter, with no default kernel.
    pub struct MedianParameter {
        opt pad: u32 = 0;
        opt pad_h: u32 = 0;
        opt pad_w: u32 = 0;
        opt kernel_size: u32 = 0;
        opt kernel_h: u32 = 0;
        opt kernel_w: u32 = 0;
        opt stride: u32 = 1;
        opt stride_h: u32 = 0;
        opt stride_w: u32 = 0;
    }
}

caffe_enum! {
    /// The pooling function (Pooling, SPP and V0 layers).
    pub enum PoolMethod { Max = 0 => "MAX", Ave = 1 => "AVE", Stochastic = 2 => "STOCHASTIC" }
}

caffe_enum! {
    /// How pooling rounds its output size.
    pub enum RoundMode { Ceil = 0 => "CEIL", Floor = 1 => "FLOOR" }
}

caffe_message! {
    /// Spatial pyramid pooling.
    pub struct SPPParameter {
        opt pyramid_height: u32 = 0;
        opt pool: PoolMethod = PoolMethod::Max;
        opt engine: Engine = Engine::Default;
    }
}

caffe_message! {
    /// Local response normalisation.
    pub struct LRNParameter {
        /// Must be odd.
        opt local_size: u32 = 5;
        opt alpha: f32 = 1.0;
        opt beta: f32 = 0.75;
        opt norm_region: NormRegion = NormRegion::AcrossChannels;
        /// Ignored by WITHIN_CHANNEL.
        opt k: f32 = 1.0;
        opt engine: Engine = Engine::Default;
    }
}

caffe_enum! {
    /// Whether LRN sums over neighbouring channels or a spatial window.
    pub enum NormRegion { AcrossChannels = 0 => "ACROSS_CHANNELS", WithinChannel = 1 => "WITHIN_CHANNEL" }
}

caffe_message! {
    /// Mean-variance normalisation.
    pub struct MVNParameter {
        /// False: subtract the mean only.
        opt normalize_variance: bool = true;
        opt across_channels: bool = false;
        opt eps: f32 = 1e-9;
    }
}

caffe_message! {
    /// Batch normalisation (statistics only; follow it with Scale for γ/β).
    pub struct BatchNormParameter {
        /// Use the stored statistics; when unset, true in TEST and false in TRAIN.
        opt use_global_stats: bool = false;
        opt moving_average_fraction: f32 = 0.999;
        opt eps: f32 = 1e-5;
    }
}

caffe_message! {
    /// Fully connected layer.
    pub struct InnerProductParameter {
        opt num_output: u32 = 0;
        opt bias_term: bool = true;
        msg weight_filler: FillerParameter;
        msg bias_filler: FillerParameter;
        /// Axes from this one on are flattened into the input vector.
        opt axis: i32 = 1;
        /// Store the weight as (K, N) instead of (N, K).
        opt transpose: bool = false;
    }
}

caffe_message! {
    /// Embed: a lookup table indexed by integer inputs.
    pub struct EmbedParameter {
        opt num_output: u32 = 0;
        /// The number of table rows (largest input + 1).
        opt input_dim: u32 = 0;
        opt bias_term: bool = true;
        msg weight_filler: FillerParameter;
        msg bias_filler: FillerParameter;
    }
}

caffe_message! {
    /// RNN and LSTM.
    pub struct RecurrentParameter {
        /// The hidden state size; must be non-zero.
        opt num_output: u32 = 0;
        msg weight_filler: FillerParameter;
        msg bias_filler: FillerParameter;
        /// Print debug info of the unrolled net.
        opt debug_info: bool = false;
        /// Add the initial hidden state as bottoms and the final one as tops.
        opt expose_hidden: bool = false;
    }
}

caffe_message! {
    /// Dropout.
    pub struct DropoutParameter {
        opt dropout_ratio: f32 = 0.5;
    }
}
