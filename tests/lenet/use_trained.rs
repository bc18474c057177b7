//! A trained LeNet used as a user would, through the real binary: classify test
//! digits written as PNG files, see which layers fine-tuning copies, run forward
//! on the Data layer's own batch. Called by train_lenet.rs with its snapshot.

use std::path::{Path, PathBuf};
use std::process::Command;

use caffers::data::tools::mnist::read_idx_gz;
use caffers::io::npy::{npy_bytes, read_npz, Array};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn net(file: &str) -> String {
    repo().join("nets").join(file).display().to_string()
}

/// Runs caffers in `dir`: (success, stdout, stderr).
fn caffers(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// The first `n` MNIST test digits (28×28 bytes each) and their labels.
fn test_digits(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mnist = repo().join("../shared/data/mnist");
    let (_, pixels) = read_idx_gz(&mnist.join("t10k-images-idx3-ubyte.gz"), 2051, Some(n)).unwrap();
    let (_, labels) = read_idx_gz(&mnist.join("t10k-labels-idx1-ubyte.gz"), 2049, Some(n)).unwrap();
    (pixels, labels)
}

fn write_npy(path: &Path, shape: &[usize]) {
    let array = Array {
        shape: shape.to_vec(),
        data: vec![0.5; shape.iter().product()],
    };
    std::fs::write(path, npy_bytes(&array)).unwrap();
}

/// 100 test digits as PNG files through `caffers classify --json`: at least 95
/// right, every line a well-formed object with probabilities in order.
fn classifies_png_digits(dir: &Path, weights: &str) {
    let n = 100;
    let (pixels, labels) = test_digits(n);
    let folder = dir.join("digits");
    std::fs::create_dir_all(&folder).unwrap();
    let mut paths = Vec::new();
    for (i, digit) in pixels.chunks_exact(28 * 28).enumerate() {
        let path = folder.join(format!("{i:03}.png"));
        image::GrayImage::from_raw(28, 28, digit.to_vec())
            .unwrap()
            .save(&path)
            .unwrap();
        paths.push(path.display().to_string());
    }
    let model = net("lenet_deploy.prototxt");
    let labels_file = net("lenet_labels.txt");
    let mut args = vec![
        "classify",
        "--model",
        &model,
        "--weights",
        weights,
        "--scale",
        "0.00390625",
        "--labels",
        &labels_file,
        "--top",
        "3",
        "--json",
    ];
    args.extend(paths.iter().map(String::as_str));
    let (ok, out, err) = caffers(dir, &args);
    assert!(ok, "classify failed:\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), n, "{out}");
    let mut right = 0;
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["image"], paths[i], "{line}");
        let top = v["top"].as_array().unwrap();
        assert_eq!(top.len(), 3, "{line}");
        let probs: Vec<f64> = top.iter().map(|t| t["prob"].as_f64().unwrap()).collect();
        assert!(
            probs.windows(2).all(|w| w[0] >= w[1]) && probs[0] <= 1.0,
            "{line}"
        );
        let index = top[0]["index"].as_u64().unwrap();
        assert_eq!(top[0]["label"], index.to_string(), "labels file: {line}");
        right += usize::from(index == labels[i] as u64);
    }
    assert!(right >= 95, "{right} of {n} digits right");

    // A labels file must name every class, as classification.cpp checks.
    std::fs::write(dir.join("three.txt"), "a\nb\nc\n").unwrap();
    let (ok, _, err) = caffers(
        dir,
        &[
            "classify",
            "--model",
            &model,
            "--weights",
            weights,
            "--labels",
            "three.txt",
            &paths[0],
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("has 3 label(s), but the net's output `prob` has 10 classes"),
        "{err}"
    );

    // The plain form is classification.cpp's.
    let (ok, out, err) = caffers(
        dir,
        &[
            "classify",
            "--model",
            &model,
            "--weights",
            weights,
            "--scale",
            "0.00390625",
            "--top",
            "1",
            &paths[0],
        ],
    );
    assert!(ok, "{err}");
    let expected = format!("---------- Prediction for {} ----------\n", paths[0]);
    assert!(out.starts_with(&expected), "{out}");
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!(" - {}", labels[0])),
        "{out}"
    );
}

/// Fine-tuning says what it copies and refuses weights that do not fit.
fn fine_tuning_is_visible(dir: &Path, weights: &str) {
    let x = dir.join("x.npy");
    write_npy(&x, &[64, 1, 28, 28]);
    let input = format!("data={}", x.display());
    let forward = |model: &str, weights: &str| {
        caffers(
            dir,
            &[
                "forward",
                "--model",
                model,
                "--weights",
                weights,
                "--input",
                &input,
                "--dump",
                "out.npz",
            ],
        )
    };
    let deploy = net("lenet_deploy.prototxt");
    let (ok, _, err) = forward(&deploy, weights);
    assert!(ok, "{err}");
    for line in [
        "Ignoring source layer mnist",
        "Copying source layer conv1",
        "Copying source layer ip2",
    ] {
        assert!(err.contains(line), "no `{line}` in:\n{err}");
    }
    assert!(!err.contains("keeps its filler values"), "{err}");

    let text = std::fs::read_to_string(&deploy).unwrap();
    let variant = |name: &str, from: &str, to: &str| {
        let path = dir.join(name);
        assert!(text.contains(from));
        std::fs::write(&path, text.replace(from, to)).unwrap();
        path.display().to_string()
    };
    // A new classifier: fine-tuning's usual case, warned about in forward.
    let renamed = variant("renamed.prototxt", "name: \"ip2\"", "name: \"ip2_new\"");
    let (ok, _, err) = forward(&renamed, weights);
    assert!(ok, "{err}");
    assert!(
        err.lines().any(|l| l.starts_with('W')
            && l.contains("layer ip2_new has no weights in")
            && l.ends_with("it keeps its filler values")),
        "{err}"
    );
    // A same-named layer of another shape: both shapes and Caffe's hint.
    let narrow = variant(
        "narrow.prototxt",
        "num_output: 20 kernel_size: 5",
        "num_output: 10 kernel_size: 5",
    );
    let (ok, _, err) = forward(&narrow, weights);
    assert!(!ok);
    assert!(
        err.contains("cannot copy param 0 weights from layer `conv1`; shape mismatch. Source param shape is 20 1 5 5 (500); target param shape is 10 1 5 5 (250). To learn this layer's parameters from scratch rather than copying from a saved net, rename the layer."),
        "{err}"
    );
    // Weights of another model altogether, and an empty file.
    let other = dir.join("other.prototxt");
    std::fs::write(
        &other,
        "layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 64 dim: 1 dim: 28 dim: 28 } } }
         layer { name: 'fc' type: 'InnerProduct' bottom: 'data' top: 'fc' inner_product_param { num_output: 2 } }",
    )
    .unwrap();
    let (ok, _, err) = forward(&other.display().to_string(), weights);
    assert!(!ok);
    assert!(err.contains("fits no learnable layer of net"), "{err}");
    std::fs::write(dir.join("empty.caffemodel"), b"").unwrap();
    let (ok, _, err) = forward(&deploy, "empty.caffemodel");
    assert!(!ok);
    assert!(
        err.contains("empty.caffemodel") && err.contains("holds no layers"),
        "{err}"
    );

    // `test` on a net that only Input layers feed would score zeros.
    let (ok, _, err) = caffers(
        dir,
        &[
            "test",
            "--model",
            &deploy,
            "--weights",
            weights,
            "--iterations",
            "1",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("its data comes from Input layers (data), which nothing feeds"),
        "{err}"
    );
}

/// `caffers forward` on the training net reads the test LMDB's first batch; an
/// --input array in the wrong layout is refused with both shapes.
fn forward_reads_the_data_layer(dir: &Path, weights: &str) {
    let model = net("lenet_train_test.prototxt");
    let (ok, _, err) = caffers(
        dir,
        &[
            "forward",
            "--model",
            &model,
            "--weights",
            weights,
            "--dump",
            "batch.npz",
        ],
    );
    assert!(ok, "{err}");
    let arrays = read_npz(&dir.join("batch.npz")).unwrap();
    let (pixels, labels) = test_digits(100);
    let data = &arrays["data.data"];
    assert_eq!(data.shape, vec![100, 1, 28, 28]);
    assert_eq!(
        data.data[..784].to_vec(),
        pixels[..784]
            .iter()
            .map(|&p| p as f32 * 0.00390625)
            .collect::<Vec<_>>()
    );
    let label: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    assert_eq!(arrays["data.label"].data, label);
    assert!(
        arrays["data.accuracy"].data[0] >= 0.9,
        "{:?}",
        arrays["data.accuracy"].data
    );

    let nhwc = dir.join("nhwc.npy");
    write_npy(&nhwc, &[100, 28, 28, 1]);
    let input = format!("data={}", nhwc.display());
    let (ok, _, err) = caffers(
        dir,
        &[
            "forward", "--model", &model, "--input", &input, "--dump", "x.npz",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("the array has shape (100, 28, 28, 1), but blob `data` has shape (100, 1, 28, 28) — it looks like N×H×W×C"),
        "{err}"
    );
}

/// caffers as a library and for candle users: `caffers export` writes the weights
/// under candle-nn's names (read back with a VarBuilder), and the candle engine's
/// `forward_tensor` on the deploy net gives the native forward's probabilities.
fn serves_candle_programs(dir: &Path, weights: &str) {
    use caffers::engine::CandleNet;
    use caffers::net::{Net, NetOptions};
    use caffers::proto::{NetState, Phase};
    use candle_core::{DType, Device, Tensor};

    let deploy = net("lenet_deploy.prototxt");
    let (ok, out, err) = caffers(
        dir,
        &[
            "export",
            "--model",
            &deploy,
            "--weights",
            weights,
            "-o",
            "lenet.safetensors",
        ],
    );
    assert!(ok && out.contains("wrote 8 tensors"), "{out}{err}");
    let state = NetState {
        phase: Some(Phase::Test),
        ..Default::default()
    };
    let mut native = Net::from_file(deploy.as_ref(), &state, &NetOptions::default()).unwrap();
    native.load_caffemodel(&dir.join(weights)).unwrap();
    // SAFETY: the file was just written and nothing changes it while mapped.
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[dir.join("lenet.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .unwrap();
    let conv1 = vb.get((20, 1, 5, 5), "conv1.weight").unwrap();
    let conv1: Vec<f32> = conv1.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(conv1, native.layer_param_blobs("conv1").unwrap()[0].data);

    let (pixels, _) = test_digits(64);
    let x: Vec<f32> = pixels.iter().map(|&p| p as f32 / 256.0).collect();
    native.set_input("data", &x).unwrap();
    native.forward().unwrap();
    let expected = native.blob_data("prob").unwrap().to_vec();
    let mut candle = CandleNet::from_net(native, &Device::Cpu).unwrap();
    let input = Tensor::from_vec(x, (64, 1, 28, 28), &Device::Cpu).unwrap();
    let prob = candle.forward_tensor(&input).unwrap();
    assert_eq!(prob.dims(), [64, 10]);
    let prob: Vec<f32> = prob.flatten_all().unwrap().to_vec1().unwrap();
    let worst = prob
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-4,
        "candle forward_tensor differs from native by {worst}"
    );
}

/// Every check, on a workspace where LeNet was trained (its LMDBs in data/).
pub fn check_all(dir: &Path, weights: &str) {
    classifies_png_digits(dir, weights);
    fine_tuning_is_visible(dir, weights);
    forward_reads_the_data_layer(dir, weights);
    serves_candle_programs(dir, weights);
}
