//! A net's learned blobs as candle tensors under candle-nn's `VarBuilder` names,
//! written as `.safetensors`, so a candle program can load caffers-trained
//! weights with `VarBuilder::from_mmaped_safetensors` and candle-nn's layers.
//!
//! Names: `<layer>.weight` / `<layer>.bias` for Convolution, Deconvolution,
//! InnerProduct, Embed and Scale (what `candle_nn::conv2d`, `linear`, `embedding`
//! read); `<layer>.weight` for PReLU (`candle_nn::prelu`) and `<layer>.bias` for
//! Bias; BatchNorm as `candle_nn::batch_norm` reads it: `<layer>.running_mean` and
//! `<layer>.running_var`, Caffe's stored sums divided by its scale factor blob.
//! Any other learned blob: `<layer>.blob<I>`. Shapes are Caffe's, which are
//! candle-nn's for these layers (conv OIHW, linear out×in).

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::net::Net;

/// The name candle-nn gives blob `i` of a layer of type `layer_type`.
fn var_name(layer: &str, layer_type: &str, i: usize) -> String {
    let suffix = match (layer_type, i) {
        ("Convolution" | "Deconvolution" | "InnerProduct" | "Embed" | "Scale", 0) => "weight",
        ("Convolution" | "Deconvolution" | "InnerProduct" | "Embed" | "Scale", 1) => "bias",
        ("PReLU", 0) => "weight",
        ("Bias", 0) => "bias",
        ("BatchNorm", 0) => "running_mean",
        ("BatchNorm", 1) => "running_var",
        _ => return format!("{layer}.blob{i}"),
    };
    format!("{layer}.{suffix}")
}

/// Every learned blob of `net` (each shared blob once, under its owner's name),
/// as tensors on `device`.
pub fn named_tensors(net: &Net, device: &Device) -> Result<BTreeMap<String, Tensor>> {
    let mut out = BTreeMap::new();
    let mut seen = vec![false; net.params.len()];
    for (li, node) in net.graph.layers.iter().enumerate() {
        let blobs = &net.layer_params[li];
        // Caffe's BatchNorm keeps running sums and the factor that divides them.
        let factor = match node.type_name() {
            "BatchNorm" => blobs.get(2).map(|&p| {
                let f = net.params[p].data.first().copied().unwrap_or(0.0);
                if f == 0.0 {
                    0.0
                } else {
                    1.0 / f
                }
            }),
            _ => None,
        };
        for (i, &p) in blobs.iter().enumerate() {
            if std::mem::replace(&mut seen[p], true) {
                continue;
            }
            if factor.is_some() && i == 2 {
                continue; // folded into the statistics above
            }
            let blob = &net.params[p];
            let values: Vec<f32> = match factor {
                Some(f) => blob.data.iter().map(|v| v * f).collect(),
                None => blob.data.clone(),
            };
            let t = Tensor::from_vec(values, blob.shape.as_slice(), device)
                .map_err(|e| Error::Usage(format!("layer `{}`: {e}", node.name())))?;
            out.insert(var_name(node.name(), node.type_name(), i), t);
        }
    }
    Ok(out)
}

/// Writes `net`'s learned blobs to `path` as safetensors, atomically.
pub fn write_safetensors(net: &Net, path: &Path) -> Result<usize> {
    let tensors = named_tensors(net, &Device::Cpu)?;
    let bytes = safetensors::serialize(&tensors, None).map_err(|e| {
        Error::file(
            path.display().to_string(),
            format!("cannot encode safetensors: {e}"),
        )
    })?;
    crate::io::atomic::write_atomically(path, &bytes)?;
    Ok(tensors.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use crate::net::NetOptions;
    use crate::proto::NetState;

    #[test]
    fn blobs_get_candle_nn_names_and_batch_norm_is_unscaled() {
        let text = r#"
            layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
            layer { name: "conv1" type: "Convolution" bottom: "x" top: "c"
                    convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "xavier" } } }
            layer { name: "bn" type: "BatchNorm" bottom: "c" top: "c" }
            layer { name: "fc" type: "InnerProduct" bottom: "c" top: "y"
                    inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }"#;
        let loaded = crate::load::net_from_source(&SourceFile::new("t", text)).unwrap();
        let mut net =
            Net::from_loaded(&loaded, &NetState::default(), &NetOptions::default()).unwrap();
        let bn = net.layer_params[2].clone();
        net.params[bn[0]].data = vec![2.0, 4.0, 6.0];
        net.params[bn[1]].data = vec![8.0, 8.0, 8.0];
        net.params[bn[2]].data = vec![2.0];
        let t = named_tensors(&net, &Device::Cpu).unwrap();
        let names: Vec<&str> = t.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "bn.running_mean",
                "bn.running_var",
                "conv1.bias",
                "conv1.weight",
                "fc.bias",
                "fc.weight"
            ]
        );
        assert_eq!(t["conv1.weight"].dims(), [3, 2, 3, 3]);
        assert_eq!(t["fc.weight"].dims(), [5, 12]);
        let mean: Vec<f32> = t["bn.running_mean"].to_vec1().unwrap();
        assert_eq!(mean, [1.0, 2.0, 3.0]);

        // candle-nn reads them back by these names.
        let dir = std::env::temp_dir().join(format!("caffers-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.safetensors");
        write_safetensors(&net, &path).unwrap();
        // SAFETY: the file was just written and nothing changes it while mapped.
        let vb = unsafe {
            candle_nn::VarBuilder::from_mmaped_safetensors(
                &[&path],
                candle_core::DType::F32,
                &Device::Cpu,
            )
        }
        .unwrap();
        let fc = candle_nn::linear(12, 5, vb.pp("fc")).unwrap();
        let x = Tensor::ones((1, 12), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y = candle_core::Module::forward(&fc, &x).unwrap();
        assert_eq!(y.dims(), [1, 5]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
