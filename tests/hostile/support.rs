//! Running `caffers` on hostile input and judging how it ended.

#![allow(dead_code)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty work folder for one case.
pub fn workdir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("caffers-hostile-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `caffers ARGS…` in `dir` with a wall-clock bound (a hang fails the test).
pub fn caffers(dir: &Path, args: &[&str]) -> Output {
    caffers_env(dir, args, &[])
}

/// As [`caffers`], with extra environment variables.
pub fn caffers_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("--signal=KILL")
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_caffers"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run caffers")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a clean refusal: exit status 1, no signal, no panic, and a message that
/// contains every one of `needles`.
pub fn assert_clean_error(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert!(
        out.status.signal().is_none(),
        "killed by signal {:?}:\n{err}",
        out.status.signal()
    );
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    assert_eq!(out.status.code(), Some(1), "exit status:\n{err}");
    for n in needles {
        assert!(err.contains(n), "message lacks `{n}`:\n{err}");
    }
    assert!(err.len() < 20_000, "message of {} bytes", err.len());
}

/// Asserts success (exit 0, no signal, no panic).
pub fn assert_success(out: &Output) {
    let err = stderr(out);
    assert!(out.status.signal().is_none(), "signal:\n{err}");
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    assert_eq!(out.status.code(), Some(0), "exit status:\n{err}");
}

/// Writes `text` to `dir/name` and returns the name (for argument lists).
pub fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    name.to_string()
}

/// A deploy net: one Input of `shape`, then the given layer text reading `data`.
pub fn input_net(shape: &[i64], layers: &str) -> String {
    let dims: String = shape.iter().map(|d| format!(" dim: {d}")).collect();
    format!(
        "name: \"hostile\"\n\
         layer {{ name: \"in\" type: \"Input\" top: \"data\" input_param {{ shape {{{dims} }} }} }}\n\
         {layers}\n"
    )
}
