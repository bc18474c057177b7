//! `caffers classify` against the net's own forward pass: cifar10_quick trained
//! briefly (the point is agreement, not accuracy), the first 100 CIFAR-10 test
//! images written as PNG files and classified with the deploy net, and the same
//! images run through the training net's TEST Data layer by `caffers forward`.
//! Preprocessing is the same on both sides (the mean image the LMDB's mean file
//! holds; the PNGs decode as BGR, and the LMDB holds the archive's RGB planes, so
//! `--channel-swap 2,1,0`), so the predicted class agrees image by image.

use std::path::{Path, PathBuf};
use std::process::Command;

use caffers::data::tools::cifar10::read_archive;
use caffers::io::npy::read_npz;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn caffers(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "caffers {args:?} failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn classify_agrees_with_forward_on_the_test_lmdb() {
    let dir = std::env::temp_dir().join(format!("caffers-classify-cifar-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("pngs")).unwrap();
    let archive = repo().join("../shared/data/cifar10/cifar-10-binary.tar.gz");
    std::fs::write(
        dir.join("caffers.toml"),
        format!("cifar10_archive = {:?}\n", archive.display().to_string()),
    )
    .unwrap();
    let train_test = repo().join("nets/cifar10_quick_train_test.prototxt");
    let solver = format!(
        "net: {:?}\nbase_lr: 0.001\nmomentum: 0.9\nweight_decay: 0.004\nlr_policy: \"fixed\"\n\
         max_iter: 30\nsnapshot_prefix: \"snapshots/cifar10_quick\"\ntest_iter: 1\n\
         test_interval: 1000\ntest_initialization: false\nrandom_seed: 3\n",
        train_test.display().to_string()
    );
    std::fs::write(dir.join("solver.prototxt"), solver).unwrap();
    caffers(&dir, &["train", "solver.prototxt"]);
    let weights = "snapshots/cifar10_quick_iter_30.caffemodel";

    let model = train_test.display().to_string();
    caffers(
        &dir,
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
    let arrays = read_npz(&dir.join("batch.npz")).unwrap();
    let scores = &arrays["data.ip2"];
    assert_eq!(scores.shape, vec![100, 10]);

    let batches = read_archive(&archive, Some(100)).unwrap();
    let (_, test) = batches.iter().find(|(n, _)| n == "test_batch.bin").unwrap();
    let mut paths = Vec::new();
    for (i, record) in test.chunks_exact(1 + 3 * 1024).enumerate() {
        let planes = &record[1..];
        let png = image::RgbImage::from_fn(32, 32, |x, y| {
            let at = (y * 32 + x) as usize;
            image::Rgb([planes[at], planes[1024 + at], planes[2048 + at]])
        });
        let path = dir.join("pngs").join(format!("{i:03}.png"));
        png.save(&path).unwrap();
        paths.push(path.display().to_string());
    }
    let deploy = repo()
        .join("nets/cifar10_quick_deploy.prototxt")
        .display()
        .to_string();
    let labels = repo().join("nets/cifar10_labels.txt").display().to_string();
    let mut args = vec![
        "classify",
        "--model",
        &deploy,
        "--weights",
        weights,
        "--mean-file",
        "data/mean.binaryproto",
        "--channel-swap",
        "2,1,0",
        "--labels",
        &labels,
        "--top",
        "1",
        "--json",
    ];
    args.extend(paths.iter().map(String::as_str));
    let out = caffers(&dir, &args);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100);
    let mut classes = std::collections::BTreeSet::<usize>::new();
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let classified = v["top"][0]["index"].as_u64().unwrap() as usize;
        let row = &scores.data[i * 10..(i + 1) * 10];
        let forward = (0..10).fold(0, |best, k| if row[k] > row[best] { k } else { best });
        assert_eq!(
            classified, forward,
            "image {i}: {line}, forward scores {row:?}"
        );
        classes.insert(classified);
    }
    // Agreement means little if the net answers one class for everything.
    assert!(classes.len() >= 3, "classes predicted: {classes:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
