//! Golden tests of error messages: each `tests/bad/NAME.prototxt` is checked as
//! `caffers check` would, and its error text (file:line:col, the line, the caret)
//! must equal `tests/bad/NAME.expected`. Run with `BLESS=1` to rewrite the
//! expected files after a deliberate change, then review the diff.
//!
//! Inputs too large to keep in the repository (a 100 MB file) are made here.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use caffers::check::{check_file, CheckOptions};

/// The reports' tables when the file checks, else the error text.
fn check(file: &Path) -> Result<String, String> {
    let reports = check_file(file, &CheckOptions::default()).map_err(|e| e.to_string())?;
    Ok(reports.iter().map(|r| r.table()).collect())
}

/// Every bad file, by path relative to the package root (cargo runs tests there,
/// so the file names in the messages are stable).
fn bad_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/bad")
        .expect("tests/bad exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "prototxt"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_file_gives_its_expected_message() {
    let bless = std::env::var_os("BLESS").is_some();
    let files = bad_files();
    assert!(files.len() >= 13, "tests/bad holds {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let start = Instant::now();
        let got = match check(file) {
            Ok(out) => {
                failures.push(format!("{}: no error; printed:\n{out}", file.display()));
                continue;
            }
            Err(e) => e + "\n",
        };
        let took = start.elapsed();
        if took > Duration::from_secs(2) {
            failures.push(format!("{}: took {took:?}", file.display()));
        }
        let expected_path = file.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &got).expect("writes the expected file");
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                file.display()
            )),
            Err(_) => failures.push(format!(
                "{}: no {} (run with BLESS=1); got:\n{got}",
                file.display(),
                expected_path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The error must point at a line and column and show a caret, for the cases
/// whose error is about a place in the text.
#[test]
fn text_errors_have_line_col_and_caret() {
    for name in [
        "malformed_syntax",
        "unknown_field",
        "wrong_scalar_type",
        "out_of_range",
        "unknown_enum",
        "layer_layers_mix",
        "deep_nesting",
    ] {
        let file = PathBuf::from(format!("tests/bad/{name}.prototxt"));
        let e = check(&file).expect_err(name);
        let head = format!("{}:", file.display());
        assert!(e.starts_with(&head), "{name}: {e}");
        let (_, rest) = e.split_at(head.len());
        let mut parts = rest.splitn(3, ':');
        let line: usize = parts.next().unwrap().parse().expect("a line number");
        let col: usize = parts.next().unwrap().parse().expect("a column number");
        assert!(line >= 1 && col >= 1, "{name}: {e}");
        assert!(e.contains(&format!("\n{line} | ")), "{name}: {e}");
        assert!(
            e.lines()
                .last()
                .unwrap()
                .trim_start_matches([' ', '|'])
                .starts_with('^'),
            "{name}: {e}"
        );
    }
}

#[test]
fn a_100_mb_file_is_refused_quickly() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("very_large.prototxt");
    // A real 100 MB of text (not a sparse file), repeating a valid layer.
    let unit = "layer { name: \"p\" type: \"Pooling\" bottom: \"a\" top: \"a\" pooling_param { pool: MAX kernel_size: 3 } }\n";
    let text = unit.repeat(100 * 1024 * 1024 / unit.len() + 1);
    std::fs::write(&path, &text).unwrap();
    let start = Instant::now();
    let e = check(&path).expect_err("a 100 MB file is refused");
    let took = start.elapsed();
    let _ = std::fs::remove_file(&path);
    assert!(
        e.contains("is 100 MB; text files over 16 MB are refused"),
        "{e}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // The same text in memory (no file size to look at) is refused by the parser.
    let src = caffers::error::SourceFile::new("mem.prototxt", text);
    let start = Instant::now();
    let e = caffers::text::parse(&src).expect_err("refused").to_string();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "took {:?}",
        start.elapsed()
    );
    assert!(e.contains("prototxt text over 16 MB is refused"), "{e}");
}

#[test]
fn a_file_just_under_the_limit_parses_in_bounded_time() {
    let unit =
        "layer { name: \"p\" type: \"Pooling\" pooling_param { pool: MAX kernel_size: 3 } }\n";
    let limit = caffers::text::parse::MAX_TEXT_BYTES;
    let text = unit.repeat(limit / unit.len());
    assert!(text.len() <= limit);
    let src = caffers::error::SourceFile::new("big.prototxt", text);
    let start = Instant::now();
    let loaded = caffers::load::net_from_source(&src).expect("parses");
    assert_eq!(loaded.net.layer.len(), limit / unit.len());
    // Generous: CI machines are shared; the point is seconds, not minutes.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn deep_nesting_in_lists_and_angle_brackets_is_refused_too() {
    for (open, close) in [("a: [", "]"), ("a <", ">"), ("a: {", "}")] {
        let text = open.repeat(10_000) + &close.repeat(10_000);
        let src = caffers::error::SourceFile::new("deep.prototxt", text);
        let e = caffers::text::parse(&src).expect_err("refused").to_string();
        assert!(
            e.contains("nested more than 100 levels deep"),
            "{open}: {e}"
        );
    }
}
