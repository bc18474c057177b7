//! Upgrades of deprecated definitions, as Caffe applies them whenever it reads a
//! net or a solver (src/caffe/util/upgrade_proto.cpp): V1 layers become `layer`s,
//! old data-transformation fields move to `transform_param`, `input` fields become
//! an Input layer, 3-param BatchNorm layers get their statistics frozen, and the
//! solver_type enum becomes the `type` string. V0 layers are refused.

use super::*;

impl V1LayerType {
    /// The layer type string that replaces this V1 type ("" for NONE).
    pub fn upgraded_name(self) -> &'static str {
        use V1LayerType::*;
        match self {
            None => "",
            Absval => "AbsVal",
            Accuracy => "Accuracy",
            Argmax => "ArgMax",
            Bnll => "BNLL",
            Concat => "Concat",
            ContrastiveLoss => "ContrastiveLoss",
            Convolution => "Convolution",
            Deconvolution => "Deconvolution",
            Data => "Data",
            Dropout => "Dropout",
            DummyData => "DummyData",
            EuclideanLoss => "EuclideanLoss",
            Eltwise => "Eltwise",
            Exp => "Exp",
            Flatten => "Flatten",
            Hdf5Data => "HDF5Data",
            Hdf5Output => "HDF5Output",
            HingeLoss => "HingeLoss",
            Im2col => "Im2col",
            ImageData => "ImageData",
            InfogainLoss => "InfogainLoss",
            InnerProduct => "InnerProduct",
            Lrn => "LRN",
            MemoryData => "MemoryData",
            MultinomialLogisticLoss => "MultinomialLogisticLoss",
            Mvn => "MVN",
            Pooling => "Pooling",
            Power => "Power",
            Relu => "ReLU",
            Sigmoid => "Sigmoid",
            SigmoidCrossEntropyLoss => "SigmoidCrossEntropyLoss",
            Silence => "Silence",
            Softmax => "Softmax",
            SoftmaxLoss => "SoftmaxWithLoss",
            Split => "Split",
            Slice => "Slice",
            Tanh => "TanH",
            WindowData => "WindowData",
            Threshold => "Threshold",
        }
    }
}

/// Moves the deprecated scale/mean_file/crop_size/mirror fields of a data
/// layer's parameters into its `transform_param` (Caffe's
/// UpgradeNetDataTransformation, which it applies to V1 layers).
macro_rules! move_transform_fields {
    ($param:expr, $transform:expr) => {
        if let Some(p) = $param.as_mut() {
            if p.scale.is_some()
                || p.mean_file.is_some()
                || p.crop_size.is_some()
                || p.mirror.is_some()
            {
                let t = $transform.get_or_insert_with(Default::default);
                if let Some(v) = p.scale.take() {
                    t.scale = Some(v);
                }
                if let Some(v) = p.mean_file.take() {
                    t.mean_file = Some(v);
                }
                if let Some(v) = p.crop_size.take() {
                    t.crop_size = Some(v);
                }
                if let Some(v) = p.mirror.take() {
                    t.mirror = Some(v);
                }
            }
        }
    };
}

/// Converts one V1 layer to the current form: the type enum becomes its string,
/// `param`/`blob_share_mode`/`blobs_lr`/`weight_decay` become `param` specs, and
/// every parameter message is carried over.
pub fn upgrade_v1_layer(v1: &V1LayerParameter) -> Result<LayerParameter, String> {
    if let Some(v0) = &v1.layer {
        let name = v1.name.as_deref().unwrap_or(v0.name());
        return Err(format!(
            "layer `{name}` is in the V0 format (`layers {{ layer {{ … }} }}`), which caffers \
             does not read; convert the file with Caffe's upgrade_net_proto_text"
        ));
    }
    let n = v1
        .param
        .len()
        .max(v1.blob_share_mode.len())
        .max(v1.blobs_lr.len())
        .max(v1.weight_decay.len());
    let param = (0..n)
        .map(|i| ParamSpec {
            name: v1.param.get(i).cloned(),
            share_mode: v1.blob_share_mode.get(i).copied(),
            lr_mult: v1.blobs_lr.get(i).copied(),
            decay_mult: v1.weight_decay.get(i).copied(),
        })
        .collect();
    let mut data_param = v1.data_param.clone();
    let mut image_data_param = v1.image_data_param.clone();
    let mut window_data_param = v1.window_data_param.clone();
    let mut transform_param = v1.transform_param.clone();
    match v1.r#type {
        Some(V1LayerType::Data) => move_transform_fields!(data_param, transform_param),
        Some(V1LayerType::ImageData) => move_transform_fields!(image_data_param, transform_param),
        Some(V1LayerType::WindowData) => {
            move_transform_fields!(window_data_param, transform_param)
        }
        _ => {}
    }
    Ok(LayerParameter {
        name: v1.name.clone(),
        r#type: v1.r#type.map(|t| t.upgraded_name().to_string()),
        bottom: v1.bottom.clone(),
        top: v1.top.clone(),
        loss_weight: v1.loss_weight.clone(),
        param,
        blobs: v1.blobs.clone(),
        include: v1.include.clone(),
        exclude: v1.exclude.clone(),
        transform_param,
        loss_param: v1.loss_param.clone(),
        accuracy_param: v1.accuracy_param.clone(),
        argmax_param: v1.argmax_param.clone(),
        concat_param: v1.concat_param.clone(),
        contrastive_loss_param: v1.contrastive_loss_param.clone(),
        convolution_param: v1.convolution_param.clone(),
        data_param,
        dropout_param: v1.dropout_param.clone(),
        dummy_data_param: v1.dummy_data_param.clone(),
        eltwise_param: v1.eltwise_param.clone(),
        exp_param: v1.exp_param.clone(),
        hdf5_data_param: v1.hdf5_data_param.clone(),
        hdf5_output_param: v1.hdf5_output_param.clone(),
        hinge_loss_param: v1.hinge_loss_param.clone(),
        image_data_param,
        infogain_loss_param: v1.infogain_loss_param.clone(),
        inner_product_param: v1.inner_product_param.clone(),
        lrn_param: v1.lrn_param.clone(),
        memory_data_param: v1.memory_data_param.clone(),
        mvn_param: v1.mvn_param.clone(),
        pooling_param: v1.pooling_param.clone(),
        power_param: v1.power_param.clone(),
        relu_param: v1.relu_param.clone(),
        sigmoid_param: v1.sigmoid_param.clone(),
        softmax_param: v1.softmax_param.clone(),
        slice_param: v1.slice_param.clone(),
        tanh_param: v1.tanh_param.clone(),
        threshold_param: v1.threshold_param.clone(),
        window_data_param,
        ..Default::default()
    })
}

/// Brings a net to the current form, as Caffe's UpgradeNetAsNeeded does on every
/// read: V1 `layers` become `layer`s, the `input`/`input_shape`/`input_dim` fields
/// become an Input layer named "input" at the front, and BatchNorm layers with
/// three param specs get lr_mult and decay_mult 0 on each.
pub fn upgrade_net(net: &mut NetParameter) -> Result<(), String> {
    if !net.layers.is_empty() {
        if !net.layer.is_empty() {
            return Err(format!(
                "the net defines {} layer(s) with `layer` and {} with the deprecated V1 \
                 `layers`; a net must use one form only (Caffe would drop the `layer` ones)",
                net.layer.len(),
                net.layers.len()
            ));
        }
        let mut upgraded = Vec::with_capacity(net.layers.len());
        for (i, v1) in net.layers.iter().enumerate() {
            upgraded.push(upgrade_v1_layer(v1).map_err(|e| format!("layers #{}: {e}", i + 1))?);
        }
        net.layer = upgraded;
        net.layers.clear();
    }
    upgrade_net_input(net)?;
    for layer in &mut net.layer {
        if layer.r#type() == "BatchNorm" && layer.param.len() == 3 {
            for p in &mut layer.param {
                p.lr_mult = Some(0.0);
                p.decay_mult = Some(0.0);
            }
        }
    }
    Ok(())
}

/// Caffe's UpgradeNetInput: `input` with `input_shape` (one per input) or
/// `input_dim` (four per input) becomes an Input layer; `input` alone (legacy
/// caffemodels) is simply dropped.
fn upgrade_net_input(net: &mut NetParameter) -> Result<(), String> {
    if net.input.is_empty() {
        if !net.input_shape.is_empty() || !net.input_dim.is_empty() {
            return Err("`input_shape` or `input_dim` is given without `input` names".into());
        }
        return Ok(());
    }
    let n = net.input.len();
    let shapes: Vec<BlobShape> = if !net.input_shape.is_empty() {
        if net.input_shape.len() != n {
            return Err(format!(
                "the net has {n} `input`(s) but {} `input_shape`(s); give one shape per input",
                net.input_shape.len()
            ));
        }
        net.input_shape.clone()
    } else if !net.input_dim.is_empty() {
        if net.input_dim.len() != 4 * n {
            return Err(format!(
                "the net has {n} `input`(s) but {} `input_dim` values; give four (N, C, H, W) \
                 per input",
                net.input_dim.len()
            ));
        }
        net.input_dim
            .chunks(4)
            .map(|d| BlobShape {
                dim: d.iter().map(|&x| i64::from(x)).collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    if !shapes.is_empty() {
        let layer = LayerParameter {
            name: Some("input".into()),
            r#type: Some("Input".into()),
            top: net.input.clone(),
            input_param: Some(InputParameter { shape: shapes }),
            ..Default::default()
        };
        net.layer.insert(0, layer);
    }
    net.input.clear();
    net.input_shape.clear();
    net.input_dim.clear();
    Ok(())
}

/// Caffe's UpgradeSolverType: the deprecated `solver_type` enum becomes the
/// `type` string (both may be given only if they agree). Inline nets
/// (`net_param`, `train_net_param`, `test_net_param`) are upgraded with
/// [`upgrade_net`] too, which Caffe leaves undone, so that e.g. the V1 layers of
/// examples/mnist/lenet_consolidated_solver.prototxt are read.
pub fn upgrade_solver(s: &mut SolverParameter) -> Result<(), String> {
    if let Some(t) = s.solver_type {
        let name = t.type_name();
        if let Some(given) = &s.r#type {
            if given != name {
                return Err(format!(
                    "`solver_type: {t}` and `type: \"{given}\"` disagree; remove the \
                     deprecated solver_type"
                ));
            }
        }
        s.r#type = Some(name.to_string());
        s.solver_type = None;
    }
    if let Some(n) = &mut s.net_param {
        upgrade_net(n).map_err(|e| format!("net_param: {e}"))?;
    }
    if let Some(n) = &mut s.train_net_param {
        upgrade_net(n).map_err(|e| format!("train_net_param: {e}"))?;
    }
    for (i, n) in s.test_net_param.iter_mut().enumerate() {
        upgrade_net(n).map_err(|e| format!("test_net_param #{}: {e}", i + 1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use std::path::{Path, PathBuf};

    fn read<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> crate::Result<T> {
        let src = SourceFile::new(name, text);
        crate::text::from_message(&src, &crate::text::parse(&src)?)
    }

    fn net(text: &str) -> NetParameter {
        read("t.prototxt", text).unwrap()
    }

    #[test]
    fn v1_net_is_upgraded() {
        let mut n = net(r#"
            name: "old"
            layers {
              name: "data" type: DATA top: "data" top: "label"
              data_param { source: "db" batch_size: 10 scale: 0.5 mirror: true mean_file: "m" }
              include { phase: TRAIN }
            }
            layers {
              name: "conv" type: CONVOLUTION bottom: "data" top: "conv"
              blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0 param: "cw"
              convolution_param { num_output: 8 kernel_size: 3 }
            }
            layers { name: "loss" type: SOFTMAX_LOSS bottom: "conv" bottom: "label" loss_weight: 3 }
            layers { name: "abs" type: ABSVAL bottom: "conv" top: "abs" }
        "#);
        upgrade_net(&mut n).unwrap();
        assert!(n.layers.is_empty());
        assert_eq!(n.layer.len(), 4);
        let data = &n.layer[0];
        assert_eq!(data.r#type(), "Data");
        assert_eq!(data.include[0].phase, Some(Phase::Train));
        let dp = data.data_param();
        assert_eq!((dp.source(), dp.batch_size()), ("db", 10));
        assert_eq!(
            (dp.scale, dp.mirror, dp.mean_file.as_deref()),
            (None, None, None)
        );
        let t = data.transform_param();
        assert_eq!((t.scale(), t.mirror(), t.mean_file()), (0.5, true, "m"));

        let conv = &n.layer[1];
        assert_eq!(conv.r#type(), "Convolution");
        assert_eq!(conv.bottom, vec!["data"]);
        assert_eq!(conv.param.len(), 2);
        assert_eq!(conv.param[0].name(), "cw");
        assert_eq!(
            (conv.param[0].lr_mult(), conv.param[0].decay_mult()),
            (1.0, 1.0)
        );
        assert_eq!(conv.param[1].name, None);
        assert_eq!(
            (conv.param[1].lr_mult(), conv.param[1].decay_mult()),
            (2.0, 0.0)
        );
        assert_eq!(conv.convolution_param().num_output(), 8);

        assert_eq!(n.layer[2].r#type(), "SoftmaxWithLoss");
        assert_eq!(n.layer[2].loss_weight, vec![3.0]);
        assert_eq!(n.layer[3].r#type(), "AbsVal");
    }

    #[test]
    fn every_v1_type_has_a_name() {
        for name in V1LayerType::NAMES {
            let t = V1LayerType::from_name(name).unwrap();
            assert_eq!(
                t.upgraded_name().is_empty(),
                t == V1LayerType::None,
                "{name}"
            );
        }
    }

    #[test]
    fn input_fields_become_an_input_layer() {
        let mut n = net(r#"
            input: "data" input_dim: 10 input_dim: 3 input_dim: 227 input_dim: 227
            input: "im_info" input_dim: 1 input_dim: 3 input_dim: 1 input_dim: 1
            layer { name: "relu" type: "ReLU" bottom: "data" top: "data" }
        "#);
        upgrade_net(&mut n).unwrap();
        assert!(n.input.is_empty() && n.input_dim.is_empty());
        assert_eq!(n.layer.len(), 2);
        let input = &n.layer[0];
        assert_eq!((input.name(), input.r#type()), ("input", "Input"));
        assert_eq!(input.top, vec!["data", "im_info"]);
        let shapes = &input.input_param().shape;
        assert_eq!(shapes[0].dim, vec![10, 3, 227, 227]);
        assert_eq!(shapes[1].dim, vec![1, 3, 1, 1]);
        assert_eq!(n.layer[1].name(), "relu");

        let mut n = net("input: 'x' input_shape { dim: [2, 5] }");
        upgrade_net(&mut n).unwrap();
        assert_eq!(n.layer[0].input_param().shape[0].dim, vec![2, 5]);

        // `input` alone (legacy caffemodels) is just dropped.
        let mut n = net("input: 'x'");
        upgrade_net(&mut n).unwrap();
        assert!(n.layer.is_empty() && n.input.is_empty());

        let mut n = net("input: 'x' input_dim: 1 input_dim: 2");
        let e = upgrade_net(&mut n).unwrap_err();
        assert!(e.contains("four (N, C, H, W) per input"), "{e}");
    }

    #[test]
    fn mixed_layer_and_layers_is_refused() {
        let mut n = net(r#"
            layer { name: "a" type: "ReLU" }
            layers { name: "b" type: RELU }
        "#);
        let e = upgrade_net(&mut n).unwrap_err();
        assert!(e.contains("one form only"), "{e}");
    }

    #[test]
    fn v0_layers_are_refused() {
        let mut n = net("layers { layer { name: 'c' type: 'conv' } }");
        let e = upgrade_net(&mut n).unwrap_err();
        assert!(e.contains("V0 format") && e.contains("`c`"), "{e}");
    }

    #[test]
    fn three_param_batch_norm_is_frozen() {
        let mut n = net(r#"
            layer { name: "bn" type: "BatchNorm" param { lr_mult: 1 } param { lr_mult: 1 name: "v" } param {} }
            layer { name: "bn2" type: "BatchNorm" param { lr_mult: 1 } }
        "#);
        upgrade_net(&mut n).unwrap();
        for p in &n.layer[0].param {
            assert_eq!((p.lr_mult, p.decay_mult), (Some(0.0), Some(0.0)));
        }
        assert_eq!(n.layer[0].param[1].name(), "v");
        assert_eq!(n.layer[1].param[0].lr_mult(), 1.0);
    }

    #[test]
    fn solver_type_is_upgraded() {
        let mut s: SolverParameter = read("s", "solver_type: ADAM").unwrap();
        upgrade_solver(&mut s).unwrap();
        assert_eq!((s.r#type(), s.solver_type), ("Adam", None));
        let mut s: SolverParameter = read("s", "solver_type: NESTEROV type: 'Nesterov'").unwrap();
        upgrade_solver(&mut s).unwrap();
        assert_eq!(s.r#type(), "Nesterov");
        let mut s: SolverParameter = read("s", "solver_type: SGD type: 'Adam'").unwrap();
        let e = upgrade_solver(&mut s).unwrap_err();
        assert!(e.contains("disagree"), "{e}");
        let mut s: SolverParameter = read("s", "type: 'RMSProp'").unwrap();
        upgrade_solver(&mut s).unwrap();
        assert_eq!(s.r#type(), "RMSProp");
        let mut s: SolverParameter = read(
            "s",
            "net_param { layers { name: 'r' type: RELU } } test_net_param { input: 'x' input_dim: [1, 1, 2, 2] }",
        )
        .unwrap();
        upgrade_solver(&mut s).unwrap();
        assert_eq!(s.net_param().layer[0].r#type(), "ReLU");
        assert_eq!(s.test_net_param[0].layer[0].r#type(), "Input");
    }

    fn prototxt_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                prototxt_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "prototxt") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_caffe_reference_file_reads_and_upgrades() {
        let root = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/caffe-reference"
        ));
        let mut files = Vec::new();
        prototxt_files(root, &mut files);
        files.sort();
        assert_eq!(
            files.len(),
            54,
            "expected the 54 reference files in {root:?}"
        );
        let mut failures = Vec::new();
        for path in &files {
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let text = std::fs::read_to_string(path).unwrap();
            let result = if name.rsplit('/').next().unwrap().contains("solver") {
                read::<SolverParameter>(&name, &text)
                    .map_err(|e| e.to_string())
                    .and_then(|mut s| {
                        upgrade_solver(&mut s)?;
                        let inline = s.net_param.iter().chain(&s.train_net_param);
                        if inline
                            .chain(&s.test_net_param)
                            .any(|n| !n.layers.is_empty())
                        {
                            return Err("inline net not upgraded".to_string());
                        }
                        Ok(())
                    })
            } else {
                read::<NetParameter>(&name, &text)
                    .map_err(|e| e.to_string())
                    .and_then(|mut n| {
                        upgrade_net(&mut n)?;
                        if n.layer.is_empty() {
                            return Err("no layers after the upgrade".to_string());
                        }
                        Ok(())
                    })
            };
            if let Err(e) = result {
                failures.push(format!("{name}: {e}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
