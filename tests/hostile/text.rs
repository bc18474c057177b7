//! Class 7 (text): huge tokens are never echoed whole, solver errors point at the
//! field, binary files named as text show none of their bytes, an unclosed bracket
//! names where it opened, and a text's tree is bounded.

use crate::support::{assert_clean_error, caffers, input_net, stderr, workdir, write};

/// A token of `len` bytes built from `unit`.
fn huge(unit: &str, len: usize) -> String {
    unit.repeat(len / unit.len())
}

#[test]
fn huge_names_and_values_are_cut_short_in_messages() {
    let dir = workdir("text-huge");
    let name = huge("w", 10 << 20);
    let cases = [
        // An unknown field name, on a layer line.
        input_net(&[1, 2], &format!("layer {{ name: 'r' type: 'ReLU' bottom: 'data' top: 'r' {name}: 1 }}")),
        // An unknown enum value.
        input_net(&[1, 2], &format!("layer {{ name: 'p' type: 'Pooling' bottom: 'data' top: 'p' pooling_param {{ pool: {name} kernel_size: 1 }} }}")),
        // A huge layer name in a graph error, with control characters in it.
        input_net(&[1, 2], &format!("layer {{ name: '\\x1b[2J{name}' type: 'ReLU' bottom: 'nowhere' top: 'r' }}")),
        // An unquoted string value.
        input_net(&[1, 2], &format!("layer {{ name: {name} type: 'ReLU' bottom: 'data' top: 'r' }}")),
        // A huge blob name in a graph error: a bottom nothing produces.
        input_net(&[1, 2], &format!("layer {{ name: 'r' type: 'ReLU' bottom: '{name}' top: 'r' }}")),
    ];
    for (i, net) in cases.iter().enumerate() {
        let file = write(&dir, &format!("net{i}.prototxt"), net);
        let out = caffers(&dir, &["check", &file]);
        // Cut after 40 characters, naming the whole length (10 MB and a few bytes).
        assert_clean_error(&out, &[&file, "… (1048576"]);
        let err = stderr(&out);
        assert!(!err.contains(&"w".repeat(200)), "echoed whole:\n{err}");
        assert!(!err.contains('\u{1b}'), "raw escape echoed:\n{err}");
    }
}

#[test]
fn solver_errors_point_at_the_field() {
    let dir = workdir("text-solver");
    write(&dir, "net.prototxt", input_net(&[1, 2], ""));
    let cases = [
        ("net: 'net.prototxt'\nbase_lr: 0.1\nlr_policy: 'stpe'\n", "solver.prototxt:3:1: unknown lr_policy `stpe`"),
        ("net: 'net.prototxt'\nbase_lr: 0.1\nlr_policy: 'step'\n  stepsize: -4\n", "solver.prototxt:4:3: lr_policy `step` needs stepsize > 0"),
        ("net: 'net.prototxt'\nlr_policy: 'fixed'\nbase_lr: 0.1\ntype: 'AdaGrad'\nmomentum: 0.9\n", "solver.prototxt:5:1: momentum must be 0"),
        ("net: 'net.prototxt'\nlr_policy: 'fixed'\nbase_lr: 0.1\n\n    iter_size: 0\n", "solver.prototxt:5:5: iter_size must be at least 1"),
    ];
    for (text, want) in cases {
        write(&dir, "solver.prototxt", text);
        let check = caffers(&dir, &["check", "solver.prototxt"]);
        assert_clean_error(&check, &[want]);
        let train = caffers(&dir, &["train", "solver.prototxt"]);
        assert_clean_error(&train, &[want]);
    }
}

#[test]
fn files_that_are_not_text_show_none_of_their_lines() {
    let dir = workdir("text-binary");
    // Protobuf-like bytes with no NUL and valid UTF-8: field tags are control bytes.
    let mut model = b"\x0a\x06SECRET\x12\x05first line".to_vec();
    model.extend_from_slice(b"\nsecond line\n");
    for (name, bytes) in [
        ("weights.caffemodel", model.clone()),
        ("weights.bin", model.clone()),
        ("picture.png", b"SECRET: 1\n".to_vec()),
        ("state.solverstate", b"SECRET { }\n".to_vec()),
    ] {
        write(&dir, name, &bytes);
        write(
            &dir,
            "solver.prototxt",
            format!("net: '{name}'\nbase_lr: 0.1\nlr_policy: 'fixed'\n"),
        );
        for cmd in ["check", "train"] {
            let out = caffers(&dir, &[cmd, "solver.prototxt"]);
            assert_clean_error(&out, &[name, "not prototxt text"]);
            let err = stderr(&out);
            assert!(
                !err.contains("SECRET") && !err.contains("first line"),
                "echoed:\n{err}"
            );
        }
    }
}

#[test]
fn an_unclosed_brace_names_where_it_opened() {
    let dir = workdir("text-brace");
    let net = "name: 'n'\n\
               layer {\n  name: 'in' type: 'Input' top: 'data'\n  input_param { shape { dim: 1 dim: 2 } }\n}\n\
               layer {\n  name: 'r' type: 'ReLU' bottom: 'data' top: 'r'\n  relu_param {\n    negative_slope: 0.1\n\n}\n# the end\n";
    let file = write(&dir, "net.prototxt", net);
    let out = caffers(&dir, &["check", &file]);
    assert_clean_error(
        &out,
        &[
            "net.prototxt:13:1",
            "end of file",
            "`{` opened at line 6 col 7 is never closed",
        ],
    );
}

#[test]
fn texts_with_too_many_fields_are_refused_with_bounded_memory() {
    let dir = workdir("text-many");
    // Just under the 16 MB cap: millions of tiny fields, and allowed nesting repeated.
    let fields = huge("a:1 ", 16_000_000);
    let nested = huge(
        &format!("{}{}", "a{".repeat(99), "}".repeat(99)),
        16_000_000,
    );
    let lists = huge("dim:[1,1,1,1,1,1,1,1] ", 16_000_000);
    for (i, text) in [fields, nested, lists].iter().enumerate() {
        let file = write(&dir, &format!("big{i}.prototxt"), text);
        let out = caffers(&dir, &["check", &file]);
        assert_clean_error(
            &out,
            &[&file, "more than 3000000 names, values and brackets"],
        );
    }
}
