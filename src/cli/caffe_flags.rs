//! Caffe's command line, as its scripts and tutorials type it: gflags takes long
//! flags with one dash or two and underscores in their names (`caffe train
//! -solver x.prototxt -sighup_effect=stop`). clap reads `-solver` as the short
//! flags `-s -o …`, so Caffe's flags are rewritten to ours before clap sees them.

use std::ffi::OsString;

/// The flags of Caffe's `caffe` tool that caffers has, by their gflags names.
const CAFFE_FLAGS: &[&str] = &[
    "solver",
    "weights",
    "snapshot",
    "model",
    "iterations",
    "gpu",
    "phase",
    "stage",
    "level",
    "sighup_effect",
    "sigint_effect",
];

/// `-solver`, `-solver=x`, `--sighup_effect=stop` → `--solver`, `--solver=x`,
/// `--sighup-effect=stop`. Only Caffe's flag names are rewritten, so short flags
/// (`-h`), negative numbers and values pass unchanged.
pub fn rewrite_caffe_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| match arg.to_str().and_then(caffe_flag) {
            Some(rewritten) => OsString::from(rewritten),
            None => arg,
        })
        .collect()
}

/// Our spelling of one argument when it is one of Caffe's flags.
fn caffe_flag(arg: &str) -> Option<String> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    let (name, value) = match body.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (body, None),
    };
    if !CAFFE_FLAGS.contains(&name) {
        return None;
    }
    let ours = name.replace('_', "-");
    Some(match value {
        Some(v) => format!("--{ours}={v}"),
        None => format!("--{ours}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(line: &str) -> Vec<String> {
        rewrite_caffe_flags(line.split(' ').map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn single_dash_and_underscored_flags_become_ours() {
        assert_eq!(
            rewrite("caffers train -solver s.prototxt -weights=a.caffemodel"),
            [
                "caffers",
                "train",
                "--solver",
                "s.prototxt",
                "--weights=a.caffemodel"
            ]
        );
        assert_eq!(
            rewrite("caffers train -sighup_effect stop --sigint_effect=none"),
            [
                "caffers",
                "train",
                "--sighup-effect",
                "stop",
                "--sigint-effect=none"
            ]
        );
        assert_eq!(
            rewrite("caffers test -model m -weights w -iterations 5 -gpu 0 -phase TRAIN"),
            [
                "caffers",
                "test",
                "--model",
                "m",
                "--weights",
                "w",
                "--iterations",
                "5",
                "--gpu",
                "0",
                "--phase",
                "TRAIN"
            ]
        );
    }

    #[test]
    fn other_arguments_pass_unchanged() {
        let line = "caffers train -h --solver s -1 --debug-info --stage=x -solverx -s";
        let expected: Vec<&str> = line.split(' ').collect();
        assert_eq!(rewrite(line), expected);
    }
}
