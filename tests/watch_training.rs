//! Watching training, through the real command: `train`'s log file (the same
//! lines as stderr, an older log kept as `.1`), its curves SVG, the live line on
//! a pseudo-terminal (util-linux `script`), `caffers plot` on Caffe-format logs
//! and `caffers draw` on cifar10_quick.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("caffers-watch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A work folder with a 20-iteration LeNet solver (display every 5, a test at
/// 10 and 20) and caffers.toml naming the shipped MNIST archive.
fn lenet_workspace(name: &str) -> PathBuf {
    let dir = scratch(name);
    let mnist = repo().join("../shared/data/mnist");
    std::fs::write(
        dir.join("caffers.toml"),
        format!("mnist_archive = {:?}\n", mnist.display().to_string()),
    )
    .unwrap();
    let net = repo().join("nets/lenet_train_test.prototxt");
    let solver = format!(
        "net: {:?}\ntest_iter: 2\ntest_interval: 10\nbase_lr: 0.01\nmomentum: 0.9\n\
         lr_policy: \"inv\"\ngamma: 0.0001\npower: 0.75\ndisplay: 5\nmax_iter: 20\n\
         snapshot_prefix: \"snapshots/lenet\"\nrandom_seed: 7\n",
        net.display().to_string()
    );
    std::fs::write(dir.join("solver.prototxt"), solver).unwrap();
    dir
}

fn caffers(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn train_writes_its_log_file_and_curves() {
    let dir = lenet_workspace("log");
    let out = caffers(&dir, &["train", "solver.prototxt"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    // Not a terminal: glog lines only, no live line.
    assert!(!stderr.contains("ETA"), "{stderr}");
    for line in stderr.lines() {
        assert!(line.starts_with('I'), "not a glog line: {line}");
    }
    let log = std::fs::read_to_string(dir.join("snapshots/lenet.log")).unwrap();
    assert_eq!(
        log, stderr,
        "the log file holds exactly the lines of stderr"
    );
    assert!(log.contains("Logging to snapshots/lenet.log"), "{log}");
    assert!(log.contains("Test net output #0: accuracy = "), "{log}");

    let svg = std::fs::read_to_string(dir.join("snapshots/lenet_curves.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    for series in [
        "train loss",
        "test accuracy",
        "test loss",
        "lr (right axis)",
    ] {
        assert!(svg.contains(series), "no `{series}` in the curves");
    }

    // A second run keeps the first run's log as .log.1.
    let out = caffers(
        &dir,
        &["train", "solver.prototxt", "--log", "snapshots/lenet.log"],
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.join("snapshots/lenet.log.1")).unwrap(),
        log
    );
    let second = std::fs::read_to_string(dir.join("snapshots/lenet.log")).unwrap();
    assert!(second.contains("The previous log was moved to snapshots/lenet.log.1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn train_on_a_terminal_shows_the_live_line() {
    let dir = lenet_workspace("tty");
    // `script` runs the command on a pseudo-terminal and copies what it shows.
    let command = format!(
        "{} train solver.prototxt --no-curves",
        env!("CARGO_BIN_EXE_caffers")
    );
    let out = Command::new("script")
        .current_dir(&dir)
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("util-linux `script` runs commands on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("ETA"), "{shown}");
    assert!(shown.contains("it/s") && shown.contains("img/s"), "{shown}");
    assert!(
        shown.contains("20/20"),
        "the line ends at max_iter: {shown}"
    );
    // Log lines still reach the terminal, above the line.
    assert!(shown.contains("Test net output #0: accuracy = "), "{shown}");
    assert!(!dir.join("snapshots/lenet_curves.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Caffe 1.0 log as its tools write it (two test passes, display every 100).
fn caffe_log(scale: f64) -> String {
    let mut log = String::from(
        "I1128 04:13:19.000000  1234 caffe.cpp:218] Using GPUs 0\n\
         I1128 04:13:19.100000  1234 solver.cpp:289] Solving LeNet\n",
    );
    for iter in (0..=400).step_by(100) {
        if iter % 200 == 0 {
            log += &format!(
                "I1128 04:13:20.000000  1234 solver.cpp:330] Iteration {iter}, Testing net (#0)\n\
                 I1128 04:13:20.100000  1234 solver.cpp:397]     Test net output #0: accuracy = {}\n\
                 I1128 04:13:20.100010  1234 solver.cpp:397]     Test net output #1: loss = {} (* 1 = {} loss)\n",
                0.5 + iter as f64 / 1000.0,
                scale / (1.0 + iter as f64),
                scale / (1.0 + iter as f64)
            );
        }
        log += &format!(
            "I1128 04:13:21.000000  1234 solver.cpp:218] Iteration {iter} (71.4 iter/s, 1.4s/100 iters), loss = {}\n\
             I1128 04:13:21.000010  1234 solver.cpp:237]     Train net output #0: loss = 0.2 (* 1 = 0.2 loss)\n\
             I1128 04:13:21.000020  1234 sgd_solver.cpp:105] Iteration {iter}, lr = {}\n",
            scale * 2.0 / (1.0 + iter as f64 / 100.0),
            0.01 / (1.0 + iter as f64 / 1000.0)
        );
    }
    log
}

#[test]
fn plot_draws_several_caffe_logs_on_one_chart() {
    let dir = scratch("plot");
    std::fs::write(dir.join("lenet_a.log"), caffe_log(1.0)).unwrap();
    std::fs::write(dir.join("lenet_b.log"), caffe_log(1.5)).unwrap();
    let out = caffers(
        &dir,
        &["plot", "lenet_a.log", "lenet_b.log", "-o", "curves.svg"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(dir.join("curves.svg")).unwrap();
    for run in ["lenet_a", "lenet_b"] {
        for series in [
            "train loss",
            "test accuracy",
            "test loss",
            "lr (right axis)",
        ] {
            assert!(
                svg.contains(&format!("{run}: {series}")),
                "no `{run}: {series}`"
            );
        }
    }
    let out = caffers(&dir, &["plot", "lenet_a.log", "-o", "curves.png"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(dir.join("curves.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    std::fs::write(dir.join("notes.txt"), "nothing to plot\n").unwrap();
    let out = caffers(&dir, &["plot", "notes.txt", "-o", "x.svg"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no training lines"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether `svg` is well-formed as far as elements go: every opened tag closes,
/// in order (comments, declarations and self-closing tags aside).
fn tags_balance(svg: &str) -> bool {
    let mut open: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            return false;
        };
        let tag = &rest[start + 1..start + len];
        rest = &rest[start + len + 1..];
        if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        let name = tag
            .trim_start_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("");
        if tag.starts_with('/') {
            if open.pop().as_deref() != Some(name) {
                return false;
            }
        } else {
            open.push(name.to_string());
        }
    }
    open.is_empty()
}

/// The contents of every `<text>` element, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

#[test]
fn draw_names_every_layer_of_cifar10_quick() {
    let dir = scratch("draw");
    let net = repo().join("nets/cifar10_quick_train_test.prototxt");
    let net = net.to_str().unwrap();
    let shape = "data=100,3,32,32";
    let out = caffers(
        &dir,
        &["draw", net, "-o", "net.svg", "--input-shape", shape],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(dir.join("net.svg")).unwrap();
    assert!(svg.starts_with("<svg") && tags_balance(&svg), "{svg}");
    let texts = texts(&svg);
    for layer in [
        "cifar", "conv1", "pool1", "relu1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3",
        "ip1", "ip2", "loss",
    ] {
        // A box's first line, or a folded in-place layer's line.
        let folded = format!("+ {layer} (");
        assert!(
            texts.iter().any(|t| t == layer || t.starts_with(&folded)),
            "no layer `{layer}` in {texts:?}"
        );
    }
    assert!(
        texts.iter().any(|t| t == "100×32×16×16"),
        "blob shapes label the edges"
    );

    let out = caffers(
        &dir,
        &[
            "draw",
            net,
            "-o",
            "net.png",
            "--input-shape",
            shape,
            "--phase",
            "test",
            "--rankdir",
            "LR",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        &std::fs::read(dir.join("net.png")).unwrap()[..4],
        b"\x89PNG"
    );

    let out = caffers(
        &dir,
        &["draw", net, "-o", "net.gif", "--input-shape", shape],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ending in .svg or .png"));
    let _ = std::fs::remove_dir_all(&dir);
}
