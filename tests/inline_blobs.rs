//! A layer's inline `blobs { … }` set its parameters when the net is built, as
//! Caffe's Layer constructor loads them: the fillers do not run, a weights file
//! loaded afterwards still wins, a blob that does not fit is an error naming the
//! layer, the blob and both shapes, and `caffers check` marks such layers.

use std::path::PathBuf;
use std::process::Command;

use caffers::error::SourceFile;
use caffers::load::net_from_source;
use caffers::net::{Net, NetOptions};
use caffers::proto::NetState;

/// A 1×1×2×2 input into a 2×2 convolution (one output, with bias) whose blobs are
/// written inline, and a second convolution left to its filler.
const NET: &str = r#"name: "inline"
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 1 dim: 2 dim: 2 } } }
layer {
  name: "given" type: "Convolution" bottom: "x" top: "y"
  convolution_param { num_output: 1 kernel_size: 2 weight_filler { type: "constant" value: 7 } }
  blobs { shape { dim: 1 dim: 1 dim: 2 dim: 2 } data: [1, 2, 3, 4] }
  blobs { shape { dim: 1 } data: 0.5 }
}
layer {
  name: "filled" type: "Convolution" bottom: "y" top: "z"
  convolution_param { num_output: 1 kernel_size: 1 weight_filler { type: "constant" value: 3 } }
}
"#;

fn build(text: &str) -> caffers::Result<Net> {
    let loaded = net_from_source(&SourceFile::new("inline.prototxt", text))?;
    Net::from_loaded(&loaded, &NetState::default(), &NetOptions::default())
}

fn params_of(net: &Net, layer: &str) -> Vec<Vec<f32>> {
    net.layer_param_blobs(layer)
        .unwrap()
        .iter()
        .map(|b| b.data.clone())
        .collect()
}

#[test]
fn inline_blobs_replace_the_fillers_and_drive_the_forward_pass() {
    let mut net = build(NET).unwrap();
    assert_eq!(
        params_of(&net, "given"),
        vec![vec![1.0, 2.0, 3.0, 4.0], vec![0.5]]
    );
    // The layer without blobs is filled as before.
    assert_eq!(params_of(&net, "filled"), vec![vec![3.0], vec![0.0]]);
    net.set_input("x", &[1.0, 10.0, 100.0, 1000.0]).unwrap();
    net.forward().unwrap();
    // 1·1 + 2·10 + 3·100 + 4·1000 + 0.5, then ×3.
    assert_eq!(net.blob_data("y").unwrap(), &[4321.5]);
    assert_eq!(net.blob_data("z").unwrap(), &[3.0 * 4321.5]);
}

#[test]
fn a_weights_file_loaded_later_overrides_inline_blobs() {
    let mut net = build(NET).unwrap();
    let mut other = build(NET).unwrap();
    let ids = other.layer_params[1].clone();
    other.params[ids[0]]
        .data
        .copy_from_slice(&[-1.0, -2.0, -3.0, -4.0]);
    other.params[ids[1]].data[0] = 9.0;
    let file = std::env::temp_dir().join(format!("inline_blobs_{}.caffemodel", std::process::id()));
    other.save_caffemodel(&file).unwrap();
    net.load_caffemodel(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        params_of(&net, "given"),
        vec![vec![-1.0, -2.0, -3.0, -4.0], vec![9.0]]
    );
}

#[test]
fn legacy_four_d_blobs_fit_as_caffemodels_do() {
    let text = NET.replace(
        "blobs { shape { dim: 1 dim: 1 dim: 2 dim: 2 }",
        "blobs { num: 1 channels: 1 height: 2 width: 2",
    );
    let net = build(&text).unwrap();
    assert_eq!(params_of(&net, "given")[0], vec![1.0, 2.0, 3.0, 4.0]);
}

fn error_of(text: &str) -> String {
    match build(text) {
        Ok(_) => panic!("built:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_blob_that_does_not_fit_names_the_layer_the_blob_and_both_shapes() {
    let e = error_of(&NET.replace("shape { dim: 1 }", "shape { dim: 2 } data: 0.25"));
    assert!(e.contains("`given`"), "{e}");
    assert!(
        e.contains("inline blob 1 has shape [2], but the layer expects [1]"),
        "{e}"
    );
    let e = error_of(&NET.replace("data: [1, 2, 3, 4]", "data: [1, 2, 3]"));
    assert!(
        e.contains("inline blob 0 has shape [1, 1, 2, 2] (4 values) but holds 3 values"),
        "{e}"
    );
    let e = error_of(&NET.replace("blobs { shape { dim: 1 } data: 0.5 }", ""));
    assert!(e.contains("`given`"), "{e}");
    assert!(
        e.contains("has 1 inline blob(s), but the layer's parameters are 2 blob(s) of shapes [[1, 1, 2, 2], [1]]"),
        "{e}"
    );
    // A layer without parameters has no room for blobs either.
    let e = error_of(&format!(
        "{NET}layer {{ name: \"r\" type: \"ReLU\" bottom: \"z\" top: \"r\" blobs {{ shape {{ dim: 1 }} data: 1 }} }}"
    ));
    assert!(
        e.contains("`r`") && e.contains("has 1 inline blob(s), but the layer's parameters are 0"),
        "{e}"
    );
}

#[test]
fn check_marks_the_layers_with_inline_blobs() {
    let dir = std::env::temp_dir().join(format!("inline_blobs_check_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join("net.prototxt");
    std::fs::write(&file, NET).unwrap();
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_caffers"));
        cmd.arg("check").arg(&file);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run(false);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{table}"))
            .to_string()
    };
    assert!(row("given").contains("5 inline"), "{table}");
    assert!(!row("filled").contains("inline"), "{table}");
    let json: serde_json::Value = serde_json::from_str(run(true).trim()).unwrap();
    let layers = json["layers"].as_array().unwrap();
    assert_eq!(layers[1]["inline_blobs"], true);
    assert!(layers[2].get("inline_blobs").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
