//! The image filters of `nets/filters/` through `caffers run`: a 3×3 picture goes
//! in as a PNG file, and every pixel that comes out is compared with the filter
//! worked out by hand below (zeros beyond the border, rounded, clipped to 0–255).
//! Also `run`'s other cases: `--blob`, grey nets, and its error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The red and green planes of the test picture (blue is 0 everywhere, so a filter
/// that mixed the colour planes would show in blue).
const PLANE: [[i32; 3]; 3] = [[10, 20, 30], [40, 50, 60], [70, 80, 90]];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder for one test's files.
fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("caffers_filters_{}_{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_test_picture(path: &Path) {
    let img = image::RgbImage::from_fn(3, 3, |x, y| {
        let v = PLANE[y as usize][x as usize] as u8;
        image::Rgb([v, v, 0])
    });
    img.save(path).unwrap();
}

fn caffers(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caffers"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Runs a shipped filter on the test picture; returns the output's R, G, B planes.
fn filter(net: &str, blob: Option<&str>) -> [[u8; 9]; 3] {
    let dir = folder(&format!("{net}_{}", blob.unwrap_or("out")));
    let (input, output) = (dir.join("in.png"), dir.join("out.png"));
    write_test_picture(&input);
    let model = format!("nets/filters/{net}.prototxt");
    let mut args = vec![
        "run",
        "--model",
        &model,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    if let Some(b) = blob {
        args.extend(["--blob", b]);
    }
    let out = caffers(&args);
    assert!(out.status.success(), "{net}: {out:?}");
    let img = image::open(&output).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (3, 3));
    let mut planes = [[0u8; 9]; 3];
    for (i, p) in img.pixels().enumerate() {
        for (plane, &v) in planes.iter_mut().zip(&p.0) {
            plane[i] = v;
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    planes
}

/// A filter's value as a pixel: rounded, clipped to 0–255.
fn px(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

fn pixels(values: [i32; 9]) -> [u8; 9] {
    values.map(|v| px(v as f32))
}

/// The red and green planes must be `want`, blue must stay 0.
fn check(net: &str, want: [u8; 9]) {
    let [r, g, b] = filter(net, None);
    assert_eq!(r, want, "{net}: red");
    assert_eq!(g, want, "{net}: green");
    assert_eq!(b, [0; 9], "{net}: blue");
}

#[test]
fn blur_is_the_gaussian_over_16() {
    // Weights 1 2 1 / 2 4 2 / 1 2 1; the neighbours beyond the border count as 0.
    let sums = [
        4 * 10 + 2 * 20 + 2 * 40 + 50,
        2 * 10 + 4 * 20 + 2 * 30 + 40 + 2 * 50 + 60,
        2 * 20 + 4 * 30 + 50 + 2 * 60,
        2 * 10 + 20 + 4 * 40 + 2 * 50 + 2 * 70 + 80,
        10 + 2 * 20 + 30 + 2 * 40 + 4 * 50 + 2 * 60 + 70 + 2 * 80 + 90,
        20 + 2 * 30 + 2 * 50 + 4 * 60 + 80 + 2 * 90,
        2 * 40 + 50 + 4 * 70 + 2 * 80,
        40 + 2 * 50 + 60 + 2 * 70 + 4 * 80 + 2 * 90,
        50 + 2 * 60 + 2 * 80 + 4 * 90,
    ];
    // 210/16 = 13.125, 360/16 = 22.5 (rounds up), …
    check("blur", sums.map(|s| px(s as f32 / 16.0)));
}

#[test]
fn sharpen_is_five_times_the_pixel_less_four_neighbours() {
    check(
        "sharpen",
        pixels([
            5 * 10 - 20 - 40,
            5 * 20 - 10 - 30 - 50,
            5 * 30 - 20 - 60,
            5 * 40 - 10 - 50 - 70,
            5 * 50 - 20 - 40 - 60 - 80,
            5 * 60 - 30 - 50 - 90,
            5 * 70 - 40 - 80,
            5 * 80 - 50 - 70 - 90,
            5 * 90 - 60 - 80, // 310: clipped to 255
        ]),
    );
}

#[test]
fn emboss_weighs_the_window_from_top_left_to_bottom_right() {
    // Weights -2 -1 0 / -1 1 1 / 0 1 2, laid over the window as written (Caffe's
    // convolution is a correlation).
    check(
        "emboss",
        pixels([
            10 + 20 + 40 + 2 * 50,
            -10 + 20 + 30 + 50 + 2 * 60,
            -20 + 30 + 60,
            -10 + 40 + 50 + 70 + 2 * 80,
            -2 * 10 - 20 - 40 + 50 + 60 + 80 + 2 * 90,
            -2 * 20 - 30 - 50 + 60 + 90,
            -40 + 70 + 80,
            -2 * 40 - 50 - 70 + 80 + 90,
            -2 * 50 - 60 - 80 + 90,
        ]),
    );
}

#[test]
fn edge_is_the_laplacian() {
    check(
        "edge",
        pixels([
            8 * 10 - 20 - 40 - 50,
            8 * 20 - 10 - 30 - 40 - 50 - 60,
            8 * 30 - 20 - 50 - 60,
            8 * 40 - 10 - 20 - 50 - 70 - 80,
            8 * 50 - 10 - 20 - 30 - 40 - 60 - 70 - 80 - 90,
            8 * 60 - 20 - 30 - 50 - 80 - 90,
            8 * 70 - 40 - 50 - 80,
            8 * 80 - 40 - 50 - 60 - 70 - 90,
            8 * 90 - 50 - 60 - 80,
        ]),
    );
}

#[test]
fn watercolor_is_the_median_then_sharpen() {
    // On a 3×3 picture every 5×5 window (pad 2) holds all nine values: each
    // median is 50, the middle of 10, 20, …, 90.
    let [r, g, b] = filter("watercolor", Some("median"));
    assert_eq!((r, g, b), ([50; 9], [50; 9], [0; 9]));
    // Sharpening a flat 50 with zeros beyond the border: 5·50 less the
    // neighbours inside (2 at corners, 3 on edges, 4 in the middle).
    let (corner, edge, middle) = (5 * 50 - 2 * 50, 5 * 50 - 3 * 50, 5 * 50 - 4 * 50);
    check(
        "watercolor",
        pixels([
            corner, edge, corner, //
            edge, middle, edge, //
            corner, edge, corner,
        ]),
    );
}

/// A grey net: its Input has one channel; a 1×1 convolution copies it.
const GREY_NET: &str = r#"name: "grey"
layer { name: "image" type: "Input" top: "image" input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }
layer { name: "copy" type: "Convolution" bottom: "image" top: "copy"
  convolution_param { num_output: 1 kernel_size: 1 bias_term: false }
  blobs { shape { dim: 1 dim: 1 dim: 1 dim: 1 } data: 1 } }
layer { name: "two" type: "Convolution" bottom: "image" top: "two"
  convolution_param { num_output: 2 kernel_size: 1 bias_term: false }
  blobs { shape { dim: 2 dim: 1 dim: 1 dim: 1 } data: [1, 2] } }
"#;

#[test]
fn grey_nets_get_grey_pictures_and_write_grey_pictures() {
    let dir = folder("grey");
    let net = dir.join("grey.prototxt");
    std::fs::write(&net, GREY_NET).unwrap();
    // A colour file holding grey values: OpenCV's grey weights sum to 1, so each
    // pixel keeps its value.
    let input = dir.join("in.png");
    image::RgbImage::from_fn(5, 2, |x, y| {
        let v = (x * 40 + y * 7) as u8;
        image::Rgb([v, v, v])
    })
    .save(&input)
    .unwrap();
    let output = dir.join("out.png");
    let out = caffers(&[
        "run",
        "--model",
        net.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--blob",
        "copy",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote blob `copy` (1×2×5)"));
    let img = image::open(&output).unwrap();
    assert_eq!(img.color(), image::ColorType::L8);
    let want: Vec<u8> = (0..2)
        .flat_map(|y| (0..5).map(move |x| (x * 40 + y * 7) as u8))
        .collect();
    assert_eq!(img.to_luma8().into_raw(), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_say_what_is_wrong() {
    let dir = folder("errors");
    let net = dir.join("grey.prototxt");
    std::fs::write(&net, GREY_NET).unwrap();
    let good = dir.join("in.png");
    write_test_picture(&good);
    let garbage = dir.join("garbage.png");
    std::fs::write(&garbage, b"not a picture").unwrap();
    let output = dir.join("out.png");
    let stderr = |model: &Path, input: &Path, blob: Option<&str>| {
        let mut args = vec![
            "run",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ];
        if let Some(b) = blob {
            args.extend(["--blob", b]);
        }
        let out = caffers(&args);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let blur = root().join("nets/filters/blur.prototxt");
    let e = stderr(&blur, &dir.join("missing.png"), None);
    assert!(
        e.contains("cannot read image") && e.contains("missing.png"),
        "{e}"
    );
    let e = stderr(&blur, &garbage, None);
    assert!(e.contains("garbage.png: cannot decode image"), "{e}");
    let e = stderr(&blur, &good, Some("blured"));
    assert!(
        e.contains("the net has no blob `blured` — did you mean `blurred`?"),
        "{e}"
    );
    let e = stderr(&net, &good, Some("two"));
    assert!(
        e.contains("blob `two` has shape [1, 2, 3, 3]")
            && e.contains("blobs that fit: image, copy"),
        "{e}"
    );
    let e = stderr(&dir.join("nonet.prototxt"), &good, None);
    assert!(e.contains("nonet.prototxt"), "{e}");
    // A net whose Input is not a picture.
    let flat = dir.join("flat.prototxt");
    std::fs::write(
        &flat,
        r#"layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4 dim: 2 dim: 2 } } }"#,
    )
    .unwrap();
    let e = stderr(&flat, &good, None);
    assert!(
        e.contains("Input `x` has shape [1, 4, 2, 2]") && e.contains("C = 1 (grey) or 3 (colour)"),
        "{e}"
    );
    assert!(!output.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
