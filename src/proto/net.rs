//! A net definition and its layers.

use super::*;

caffe_message! {
    /// A net: its layers, and the state it is built in.
    pub struct NetParameter {
        string name = "";
        /// Deprecated (see InputParameter): names of the net's input blobs.
        rep input: String;
        /// Deprecated: one shape per input.
        rep input_shape: BlobShape;
        /// Deprecated: four dimensions (N, C, H, W) per input.
        rep input_dim: i32;
        /// Run backward through every layer, needed or not.
        opt force_backward: bool = false;
        /// Phase, level and stages; selects layers through their include/exclude rules.
        msg state: NetState;
        /// Log statistics of every blob in forward, backward and update.
        opt debug_info: bool = false;
        rep layer: LayerParameter;
        /// Deprecated V1 layers (see [`upgrade_net`]).
        rep layers: V1LayerParameter;
    }
}

caffe_message! {
    /// One layer: its type, connections, learning settings and type-specific
    /// parameters.
    pub struct LayerParameter {
        string name = "";
        /// The registered layer type, e.g. "Convolution".
        string r#type = "";
        rep bottom: String;
        rep top: String;
        /// The phase the layer computes in (set by the net).
        opt phase: Phase = Phase::Train;
        /// Weight of each top in the objective; each layer type has its default.
        rep loss_weight: f32;
        /// Learning settings of each parameter blob.
        rep param: ParamSpec;
        /// The parameter blobs (in caffemodels).
        rep blobs: BlobProto;
        /// Whether to backpropagate to each bottom; empty = inferred.
        rep propagate_down: bool;
        /// The layer is in the net if the state meets ANY of these rules.
        rep include: NetStateRule;
        /// The layer is left out if the state meets ANY of these rules.
        rep exclude: NetStateRule;
        msg transform_param: TransformationParameter;
        msg loss_param: LossParameter;
        msg accuracy_param: AccuracyParameter;
        msg argmax_param: ArgMaxParameter;
        msg batch_norm_param: BatchNormParameter;
        msg bias_param: BiasParameter;
        msg clip_param: ClipParameter;
        msg concat_param: ConcatParameter;
        msg contrastive_loss_param: ContrastiveLossParameter;
        msg convolution_param: ConvolutionParameter;
        msg crop_param: CropParameter;
        msg data_param: DataParameter;
        msg dropout_param: DropoutParameter;
        msg dummy_data_param: DummyDataParameter;
        msg eltwise_param: EltwiseParameter;
        msg elu_param: ELUParameter;
        msg embed_param: EmbedParameter;
        msg exp_param: ExpParameter;
        msg flatten_param: FlattenParameter;
        msg hdf5_data_param: HDF5DataParameter;
        msg hdf5_output_param: HDF5OutputParameter;
        msg hinge_loss_param: HingeLossParameter;
        msg image_data_param: ImageDataParameter;
        msg infogain_loss_param: InfogainLossParameter;
        msg inner_product_param: InnerProductParameter;
        msg input_param: InputParameter;
        msg log_param: LogParameter;
        msg lrn_param: LRNParameter;
        /// caffers extension: the Median layer's window.
        msg median_param: MedianParameter;
        msg memory_data_param: MemoryDataParameter;
        msg mvn_param: MVNParameter;
        msg parameter_param: ParameterParameter;
        msg pooling_param: PoolingParameter;
        msg power_param: PowerParameter;
        msg prelu_param: PReLUParameter;
        msg python_param: PythonParameter;
        msg recurrent_param: RecurrentParameter;
        msg reduction_param: ReductionParameter;
        msg relu_param: ReLUParameter;
        msg reshape_param: ReshapeParameter;
        msg scale_param: ScaleParameter;
        msg sigmoid_param: SigmoidParameter;
        msg softmax_param: SoftmaxParameter;
        msg spp_param: SPPParameter;
        msg slice_param: SliceParameter;
        msg swish_param: SwishParameter;
        msg tanh_param: TanHParameter;
        msg threshold_param: ThresholdParameter;
        msg tile_param: TileParameter;
        msg window_data_param: WindowDataParameter;
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
    fn layers_read_with_their_params_and_defaults() {
        let net: NetParameter = read(
            r#"
            name: "tiny"
            state { phase: TRAIN stage: "a" }
            layer {
              name: "data" type: "Data" top: "data" top: "label"
              include { phase: TRAIN min_level: 1 }
              transform_param { scale: 0.00390625 mean_value: [104, 117] mirror: true }
              data_param { source: "db" batch_size: 64 backend: LMDB }
            }
            layer {
              name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
              param { lr_mult: 1 } param { lr_mult: 2 decay_mult: 0 name: "b" share_mode: PERMISSIVE }
              convolution_param {
                num_output: 20 kernel_size: 5 stride: 1 pad: [1, 2]
                weight_filler { type: "xavier" } bias_filler { type: "constant" }
              }
            }
            layer {
              name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
              pooling_param { pool: AVE kernel_size: 3 stride: 2 round_mode: FLOOR }
            }
            layer {
              name: "loss" type: "SoftmaxWithLoss" bottom: "pool1" bottom: "label" top: "loss"
              loss_param { ignore_label: -1 normalization: BATCH_SIZE }
              loss_weight: 2 propagate_down: [true, false]
            }
            "#,
        )
        .unwrap();
        assert_eq!(net.name(), "tiny");
        assert_eq!(net.state().phase(), Phase::Train);
        assert_eq!(net.state().level(), 0);
        assert_eq!(net.state().stage, vec!["a"]);
        assert!(!net.force_backward());
        assert_eq!(net.layer.len(), 4);

        let data = &net.layer[0];
        assert_eq!(data.r#type(), "Data");
        assert_eq!(data.top, vec!["data", "label"]);
        let rule = &data.include[0];
        assert_eq!(rule.phase, Some(Phase::Train));
        assert_eq!(rule.min_level, Some(1));
        assert_eq!(rule.max_level, None);
        let t = data.transform_param();
        assert_eq!(t.scale(), 0.00390625);
        assert_eq!(t.mean_value, vec![104.0, 117.0]);
        assert!(t.mirror());
        assert_eq!(t.crop_size(), 0);
        let d = data.data_param();
        assert_eq!((d.source(), d.batch_size()), ("db", 64));
        assert_eq!(d.backend(), DataBackend::Lmdb);
        assert_eq!(d.prefetch(), 4);
        assert_eq!(DataParameter::default().backend(), DataBackend::Leveldb);

        let conv = &net.layer[1];
        assert_eq!(conv.param.len(), 2);
        assert_eq!(conv.param[0].decay_mult(), 1.0);
        assert_eq!(conv.param[1].lr_mult(), 2.0);
        assert_eq!(conv.param[1].decay_mult(), 0.0);
        assert_eq!(conv.param[1].name(), "b");
        assert_eq!(conv.param[1].share_mode(), DimCheckMode::Permissive);
        let c = conv.convolution_param();
        assert_eq!(c.num_output(), 20);
        assert_eq!(c.kernel_size, vec![5]);
        assert_eq!(c.pad, vec![1, 2]);
        assert!(c.dilation.is_empty());
        assert!(c.bias_term());
        assert_eq!(c.group(), 1);
        assert_eq!(c.axis(), 1);
        assert_eq!(c.engine(), Engine::Default);
        assert_eq!(c.weight_filler().r#type(), "xavier");
        assert_eq!(conv.phase, None);

        let p = net.layer[2].pooling_param();
        assert_eq!(p.pool(), PoolMethod::Ave);
        assert_eq!((p.kernel_size(), p.stride(), p.pad()), (3, 2, 0));
        assert_eq!(p.round_mode(), RoundMode::Floor);
        assert_eq!(PoolingParameter::default().round_mode(), RoundMode::Ceil);
        assert_eq!(PoolingParameter::default().stride(), 1);

        let loss = &net.layer[3];
        assert_eq!(loss.loss_param().ignore_label, Some(-1));
        assert_eq!(
            loss.loss_param().normalization(),
            NormalizationMode::BatchSize
        );
        assert_eq!(loss.loss_weight, vec![2.0]);
        assert_eq!(loss.propagate_down, vec![true, false]);
        assert_eq!(LossParameter::default().ignore_label, None);
        assert_eq!(
            LossParameter::default().normalization(),
            NormalizationMode::Valid
        );
    }

    #[test]
    fn layer_param_defaults_match_caffe() {
        assert_eq!(LRNParameter::default().local_size(), 5);
        assert_eq!(LRNParameter::default().beta(), 0.75);
        assert_eq!(
            LRNParameter::default().norm_region(),
            NormRegion::AcrossChannels
        );
        assert_eq!(
            BatchNormParameter::default().moving_average_fraction(),
            0.999
        );
        assert_eq!(BatchNormParameter::default().eps(), 1e-5);
        assert_eq!(DropoutParameter::default().dropout_ratio(), 0.5);
        assert_eq!(EltwiseParameter::default().operation(), EltwiseOp::Sum);
        assert!(EltwiseParameter::default().stable_prod_grad());
        assert_eq!(ReductionParameter::default().operation(), ReductionOp::Sum);
        assert_eq!(ReductionOp::Mean.number(), 4);
        assert_eq!(HingeLossParameter::default().norm(), HingeNorm::L1);
        assert_eq!(ExpParameter::default().base(), -1.0);
        assert_eq!(FlattenParameter::default().end_axis(), -1);
        assert_eq!(ReshapeParameter::default().num_axes(), -1);
        assert_eq!(CropParameter::default().axis(), 2);
        assert_eq!(SwishParameter::default().beta(), 1.0);
        assert_eq!(ImageDataParameter::default().batch_size(), 1);
        assert!(ImageDataParameter::default().is_color());
        assert_eq!(WindowDataParameter::default().crop_mode(), "warp");
        assert_eq!(WindowDataParameter::default().fg_fraction(), 0.25);
        assert_eq!(MVNParameter::default().eps(), 1e-9);
        assert_eq!(AccuracyParameter::default().top_k(), 1);
        assert_eq!(ConcatParameter::default().axis(), 1);
        assert_eq!(SliceParameter::default().slice_dim(), 1);
        assert_eq!(InfogainLossParameter::default().axis(), 1);
    }

    #[test]
    fn more_layer_params_read() {
        let l: LayerParameter = read(
            r#"
            name: "x" type: "Clip"
            clip_param { min: -1 max: 6 }
            swish_param { beta: 2 }
            eltwise_param { operation: MAX coeff: 1 coeff: -1 }
            lrn_param { norm_region: WITHIN_CHANNEL local_size: 3 alpha: 5e-05 }
            hinge_loss_param { norm: L2 }
            spp_param { pyramid_height: 2 pool: STOCHASTIC engine: CAFFE }
            python_param { module: "m" layer: "L" param_str: "{'a': 1}" }
            dummy_data_param { shape { dim: [2, 3] } data_filler { type: "gaussian" } }
            reshape_param { shape { dim: 0 dim: -1 } axis: 1 }
            "#,
        )
        .unwrap();
        assert_eq!(l.clip_param().min(), -1.0);
        assert_eq!(l.clip_param().max(), 6.0);
        assert_eq!(l.swish_param().beta(), 2.0);
        assert_eq!(l.eltwise_param().operation(), EltwiseOp::Max);
        assert_eq!(l.eltwise_param().coeff, vec![1.0, -1.0]);
        let lrn = l.lrn_param();
        assert_eq!(lrn.norm_region(), NormRegion::WithinChannel);
        assert_eq!((lrn.local_size(), lrn.alpha(), lrn.k()), (3, 5e-5, 1.0));
        assert_eq!(l.hinge_loss_param().norm(), HingeNorm::L2);
        assert_eq!(l.spp_param().pool(), PoolMethod::Stochastic);
        assert_eq!(l.spp_param().engine(), Engine::Caffe);
        assert_eq!(l.python_param().param_str(), "{'a': 1}");
        assert_eq!(l.dummy_data_param().shape[0].dim, vec![2, 3]);
        assert_eq!(l.reshape_param().shape().dim, vec![0, -1]);
        assert_eq!(l.reshape_param().axis(), 1);
        assert!(l.convolution_param.is_none());

        let e = read::<LayerParameter>("convolution_param { kernel: 3 }")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `kernel` in ConvolutionParameter"),
            "{e}"
        );
        let e = read::<LayerParameter>("pooling_param { pool: MEAN }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown value `MEAN`"), "{e}");
    }
}
