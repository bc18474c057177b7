//! Parameters of the loss layers and Accuracy ([`LossParameter`](super::LossParameter),
//! shared by all loss layers, is in `common`).

caffe_message! {
    /// Accuracy: the fraction of positions whose label is among the top-k scores.
    pub struct AccuracyParameter {
        opt top_k: u32 = 1;
        /// The label axis of the predictions.
        opt axis: i32 = 1;
        /// Positions with this label are not counted (only when set).
        opt ignore_label: i32 = 0;
    }
}

caffe_message! {
    /// ContrastiveLoss.
    pub struct ContrastiveLossParameter {
        /// Margin for dissimilar pairs.
        opt margin: f32 = 1.0;
        /// Use (margin − d²) instead of (margin − d)².
        opt legacy_version: bool = false;
    }
}

caffe_message! {
    /// HingeLoss.
    pub struct HingeLossParameter {
        opt norm: HingeNorm = HingeNorm::L1;
    }
}

caffe_enum! {
    /// The norm of a HingeLoss layer.
    pub enum HingeNorm { L1 = 1 => "L1", L2 = 2 => "L2" }
}

caffe_message! {
    /// InfogainLoss.
    pub struct InfogainLossParameter {
        /// A binaryproto holding the infogain matrix (unless given as `bottom[2]`).
        string source = "";
        /// The class axis of the probabilities.
        opt axis: i32 = 1;
    }
}
