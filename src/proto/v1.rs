//! The deprecated layer formats: V1 (`layers { type: CONVOLUTION … }`) and V0
//! (`layers { layer { type: "conv" … } }`). V1 layers are upgraded to
//! [`LayerParameter`] by [`upgrade_net`];
//! V0 layers are read (so files parse) but refused by the upgrade.

use super::*;

caffe_message! {
    /// A deprecated V1 layer: the type is an enum and learning rates are per blob.
    pub struct V1LayerParameter {
        rep bottom: String;
        rep top: String;
        string name = "";
        rep include: NetStateRule;
        rep exclude: NetStateRule;
        opt r#type: V1LayerType = V1LayerType::None;
        rep blobs: BlobProto;
        /// Sharing names of the parameter blobs (become `param[i].name`).
        rep param: String;
        /// Become `param[i].share_mode`.
        rep blob_share_mode: DimCheckMode;
        /// Become `param[i].lr_mult`.
        rep blobs_lr: f32;
        /// Become `param[i].decay_mult`.
        rep weight_decay: f32;
        rep loss_weight: f32;
        msg accuracy_param: AccuracyParameter;
        msg argmax_param: ArgMaxParameter;
        msg concat_param: ConcatParameter;
        msg contrastive_loss_param: ContrastiveLossParameter;
        msg convolution_param: ConvolutionParameter;
        msg data_param: DataParameter;
        msg dropout_param: DropoutParameter;
        msg dummy_data_param: DummyDataParameter;
        msg eltwise_param: EltwiseParameter;
        msg exp_param: ExpParameter;
        msg hdf5_data_param: HDF5DataParameter;
        msg hdf5_output_param: HDF5OutputParameter;
        msg hinge_loss_param: HingeLossParameter;
        msg image_data_param: ImageDataParameter;
        msg infogain_loss_param: InfogainLossParameter;
        msg inner_product_param: InnerProductParameter;
        msg lrn_param: LRNParameter;
        msg memory_data_param: MemoryDataParameter;
        msg mvn_param: MVNParameter;
        msg pooling_param: PoolingParameter;
        msg power_param: PowerParameter;
        msg relu_param: ReLUParameter;
        msg sigmoid_param: SigmoidParameter;
        msg softmax_param: SoftmaxParameter;
        msg slice_param: SliceParameter;
        msg tanh_param: TanHParameter;
        msg threshold_param: ThresholdParameter;
        msg window_data_param: WindowDataParameter;
        msg transform_param: TransformationParameter;
        msg loss_param: LossParameter;
        /// A V0 layer definition (not supported by the upgrade).
        msg layer: V0LayerParameter;
    }
}

caffe_enum! {
    /// The layer types of V1 layers.
    pub enum V1LayerType {
        None = 0 => "NONE",
        Absval = 35 => "ABSVAL",
        Accuracy = 1 => "ACCURACY",
        Argmax = 30 => "ARGMAX",
        Bnll = 2 => "BNLL",
        Concat = 3 => "CONCAT",
        ContrastiveLoss = 37 => "CONTRASTIVE_LOSS",
        Convolution = 4 => "CONVOLUTION",
        Data = 5 => "DATA",
        Deconvolution = 39 => "DECONVOLUTION",
        Dropout = 6 => "DROPOUT",
        DummyData = 32 => "DUMMY_DATA",
        EuclideanLoss = 7 => "EUCLIDEAN_LOSS",
        Eltwise = 25 => "ELTWISE",
        Exp = 38 => "EXP",
        Flatten = 8 => "FLATTEN",
        Hdf5Data = 9 => "HDF5_DATA",
        Hdf5Output = 10 => "HDF5_OUTPUT",
        HingeLoss = 28 => "HINGE_LOSS",
        Im2col = 11 => "IM2COL",
        ImageData = 12 => "IMAGE_DATA",
        InfogainLoss = 13 => "INFOGAIN_LOSS",
        InnerProduct = 14 => "INNER_PRODUCT",
        Lrn = 15 => "LRN",
        MemoryData = 29 => "MEMORY_DATA",
        MultinomialLogisticLoss = 16 => "MULTINOMIAL_LOGISTIC_LOSS",
        Mvn = 34 => "MVN",
        Pooling = 17 => "POOLING",
        Power = 26 => "POWER",
        Relu = 18 => "RELU",
        Sigmoid = 19 => "SIGMOID",
        SigmoidCrossEntropyLoss = 27 => "SIGMOID_CROSS_ENTROPY_LOSS",
        Silence = 36 => "SILENCE",
        Softmax = 20 => "SOFTMAX",
        SoftmaxLoss = 21 => "SOFTMAX_LOSS",
        Split = 22 => "SPLIT",
        Slice = 33 => "SLICE",
        Tanh = 23 => "TANH",
        WindowData = 24 => "WINDOW_DATA",
        Threshold = 31 => "THRESHOLD",
    }
}

caffe_message! {
    /// A V0 layer: every setting of every layer type in one flat message.
    pub struct V0LayerParameter {
        string name = "";
        /// Lower-case type names such as "conv", "pool", "innerproduct".
        string r#type = "";
        opt num_output: u32 = 0;
        opt biasterm: bool = true;
        msg weight_filler: FillerParameter;
        msg bias_filler: FillerParameter;
        opt pad: u32 = 0;
        opt kernelsize: u32 = 0;
        opt group: u32 = 1;
        opt stride: u32 = 1;
        opt pool: PoolMethod = PoolMethod::Max;
        opt dropout_ratio: f32 = 0.5;
        opt local_size: u32 = 5;
        opt alpha: f32 = 1.0;
        opt beta: f32 = 0.75;
        opt k: f32 = 1.0;
        string source = "";
        opt scale: f32 = 1.0;
        string meanfile = "";
        opt batchsize: u32 = 0;
        opt cropsize: u32 = 0;
        opt mirror: bool = false;
        rep blobs: BlobProto;
        rep blobs_lr: f32;
        rep weight_decay: f32;
        opt rand_skip: u32 = 0;
        opt det_fg_threshold: f32 = 0.5;
        opt det_bg_threshold: f32 = 0.5;
        opt det_fg_fraction: f32 = 0.25;
        opt det_context_pad: u32 = 0;
        string det_crop_mode = "warp";
        opt new_num: i32 = 0;
        opt new_channels: i32 = 0;
        opt new_height: i32 = 0;
        opt new_width: i32 = 0;
        opt shuffle_images: bool = false;
        opt concat_dim: u32 = 1;
        msg hdf5_output_param: HDF5OutputParameter;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> crate::Result<T> {
        let src = SourceFile::new("t.prototxt", text);
        crate::text::from_message(&src, &crate::text::parse(&src)?)
    }

    #[test]
    fn v1_layers_read() {
        let net: NetParameter = read(
            r#"
            layers {
              name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
              blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0
              param: "w" blob_share_mode: PERMISSIVE
              convolution_param { num_output: 96 kernel_size: 11 stride: 4 }
            }
            layers { name: "loss" type: 21 bottom: "conv1" top: "loss" }
            "#,
        )
        .unwrap();
        let l = &net.layers[0];
        assert_eq!(l.r#type(), V1LayerType::Convolution);
        assert_eq!(l.blobs_lr, vec![1.0, 2.0]);
        assert_eq!(l.weight_decay, vec![1.0, 0.0]);
        assert_eq!(l.param, vec!["w"]);
        assert_eq!(l.blob_share_mode, vec![DimCheckMode::Permissive]);
        assert_eq!(l.convolution_param().num_output(), 96);
        assert_eq!(net.layers[1].r#type(), V1LayerType::SoftmaxLoss);
        assert_eq!(V1LayerType::NAMES.len(), 40);
        assert_eq!(
            V1LayerType::from_number(39),
            Some(V1LayerType::Deconvolution)
        );
    }

    #[test]
    fn v0_layers_read() {
        let net: NetParameter = read(
            "layers { layer { name: 'c' type: 'conv' num_output: 4 kernelsize: 3 } bottom: 'x' top: 'c' }",
        )
        .unwrap();
        let v0 = net.layers[0].layer();
        assert_eq!((v0.r#type(), v0.kernelsize(), v0.stride()), ("conv", 3, 1));
        assert!(v0.biasterm());
    }
}
