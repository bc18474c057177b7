//! Classes 4–6: corrupted LMDBs, half-made datasets, hostile archives and
//! downloads. Victims: `compute-mean`, `train`, `test` and `data`.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use caffers::data::feed::datum::Datum;
use caffers::data::feed::lmdb::Writer;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::support::{assert_clean_error, assert_success, caffers, repo, stderr, workdir, write};

/// An LMDB at `dir/name` of `records` raw 1×4×4 Datums with keys `%08d`, plus
/// the records given.
fn lmdb(dir: &Path, name: &str, records: usize, extra: &[(&[u8], Vec<u8>)]) -> PathBuf {
    let db = dir.join(name);
    let mut w = Writer::create(&db).unwrap();
    for i in 0..records {
        let d = Datum::raw(1, 4, 4, vec![(i % 251) as u8; 16], (i % 10) as i32);
        w.put(format!("{i:08}"), d.to_bytes()).unwrap();
    }
    for (k, v) in extra {
        w.put(k, v.clone()).unwrap();
    }
    w.finish().unwrap();
    db
}

/// A solver training a tiny net on `db` for 2 iterations; returns its file name.
fn solver(dir: &Path, db: &str) -> String {
    write(
        dir,
        "net.prototxt",
        format!(
            "name: \"tiny\"\n\
             layer {{ name: \"d\" type: \"Data\" top: \"data\" top: \"label\"\n\
               data_param {{ source: \"{db}\" batch_size: 4 backend: LMDB }} }}\n\
             layer {{ name: \"ip\" type: \"InnerProduct\" bottom: \"data\" top: \"ip\"\n\
               inner_product_param {{ num_output: 10 weight_filler {{ type: \"xavier\" }} }} }}\n\
             layer {{ name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip\" bottom: \"label\" top: \"loss\" }}\n"
        ),
    );
    write(
        dir,
        "solver.prototxt",
        "net: \"net.prototxt\"\nbase_lr: 0.01\nlr_policy: \"fixed\"\nmax_iter: 2\n\
         display: 1\nsnapshot_prefix: \"tiny\"\nrandom_seed: 1\n",
    )
}

/// A clean end: exit 0 or 1, no signal, no panic (for damage that may go unseen).
fn assert_ends_cleanly(out: &Output, what: &str) {
    let err = stderr(out);
    assert!(
        out.status.signal().is_none(),
        "{what}: signal {:?}:\n{err}",
        out.status.signal()
    );
    assert!(!err.contains("panicked"), "{what}: panicked:\n{err}");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{what}: exit status:\n{err}"
    );
    assert!(err.len() < 20_000, "{what}: message of {} bytes", err.len());
}

/// A small deterministic generator for the damage.
fn next(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

#[test]
fn truncated_lmdbs_are_refused_by_every_reader() {
    let dir = workdir("data-truncated");
    let good = lmdb(&dir, "good_lmdb", 2000, &[]);
    let whole = std::fs::read(good.join("data.mdb")).unwrap();
    // A healthy run first, for the weights `test` needs.
    let s = solver(&dir, "good_lmdb");
    assert_success(&caffers(&dir, &["train", &s]));
    let weights = "tiny_iter_2.caffemodel";
    assert!(dir.join(weights).is_file());
    let page = 4096;
    for cut in [
        0,
        100,
        page + 8,
        3 * page,
        whole.len() / 2,
        whole.len() - page,
        whole.len() - 1,
    ] {
        let bad = dir.join("bad_lmdb");
        let _ = std::fs::remove_dir_all(&bad);
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("data.mdb"), &whole[..cut]).unwrap();
        let out = caffers(&dir, &["compute-mean", "bad_lmdb", "mean.binaryproto"]);
        assert_clean_error(&out, &["bad_lmdb/data.mdb"]);
        assert!(!dir.join("mean.binaryproto").exists());
        let s = solver(&dir, "bad_lmdb");
        assert_clean_error(&caffers(&dir, &["train", &s]), &["bad_lmdb/data.mdb"]);
        let out = caffers(
            &dir,
            &[
                "test",
                "--model",
                "net.prototxt",
                "--weights",
                weights,
                "--iterations",
                "2",
            ],
        );
        assert_clean_error(&out, &["bad_lmdb/data.mdb"]);
    }
}

#[test]
fn flipped_bytes_never_end_in_a_signal() {
    let dir = workdir("data-flipped");
    // Leaf pages of small records and overflow pages of large ones.
    let big: Vec<(Vec<u8>, Vec<u8>)> = (0..20)
        .map(|i| {
            let d = Datum::raw(3, 40, 40, vec![i as u8; 4800], 1);
            (format!("z{i:04}").into_bytes(), d.to_bytes())
        })
        .collect();
    let extra: Vec<(&[u8], Vec<u8>)> = big.iter().map(|(k, v)| (k.as_slice(), v.clone())).collect();
    let good = lmdb(&dir, "good_lmdb", 1500, &[]);
    let mixed = lmdb(&dir, "mixed_lmdb", 300, &extra);
    let mut refused = 0;
    for (db, seeds) in [(&good, 0..24u64), (&mixed, 100..112u64)] {
        let whole = std::fs::read(db.join("data.mdb")).unwrap();
        for seed in seeds {
            let mut rng = seed + 1;
            let mut bytes = whole.clone();
            // Half the cases hit the meta pages, the others anywhere.
            let span = if seed % 2 == 0 { 2 * 4096 } else { bytes.len() };
            for _ in 0..1 + seed % 8 {
                let at = next(&mut rng) as usize % span;
                bytes[at] ^= 1 << (next(&mut rng) % 8);
            }
            let bad = dir.join("bad_lmdb");
            let _ = std::fs::remove_dir_all(&bad);
            std::fs::create_dir_all(&bad).unwrap();
            std::fs::write(bad.join("data.mdb"), &bytes).unwrap();
            let out = caffers(&dir, &["compute-mean", "bad_lmdb", "mean.binaryproto"]);
            assert_ends_cleanly(&out, &format!("compute-mean, seed {seed}"));
            refused += usize::from(out.status.code() == Some(1));
            if seed % 4 == 1 {
                let s = solver(&dir, "bad_lmdb");
                let out = caffers(&dir, &["train", &s]);
                assert_ends_cleanly(&out, &format!("train, seed {seed}"));
            }
        }
    }
    // Most damage is seen; flips in unused bytes are harmless and pass.
    assert!(refused >= 12, "only {refused} of 36 damaged files refused");
}

#[test]
fn garbage_records_are_named_with_their_keys_escaped() {
    let dir = workdir("data-garbage");
    let huge_dims = Datum {
        channels: Some(1 << 30),
        height: Some(1 << 30),
        width: Some(1 << 30),
        data: Some(vec![0; 16]),
        label: Some(0),
        ..Default::default()
    };
    let negative = Datum {
        channels: Some(-1),
        height: Some(4),
        width: Some(4),
        data: Some(vec![0; 16]),
        label: Some(0),
        ..Default::default()
    };
    let bad_key: &[u8] = b"\x01\xfe\x00bin\x1b[31m";
    let long_key = [0xeeu8; 500];
    let cases: Vec<(&str, &[u8], Vec<u8>, &str)> = vec![
        (
            "not_a_datum",
            bad_key,
            vec![0xff, 0xff, 0xff, 0x07],
            "is not a Caffe Datum",
        ),
        (
            "wrong_size",
            bad_key,
            Datum::raw(1, 4, 4, vec![0; 15], 0).to_bytes(),
            "holds 15 bytes",
        ),
        (
            "other_shape",
            bad_key,
            Datum::raw(1, 5, 4, vec![0; 20], 0).to_bytes(),
            "5",
        ),
        (
            "huge_dims",
            &long_key,
            huge_dims.to_bytes(),
            "more than memory can hold",
        ),
        (
            "negative",
            bad_key,
            negative.to_bytes(),
            "negative channels",
        ),
        ("empty", bad_key, Vec::new(), "no values"),
    ];
    for (name, key, value, why) in cases {
        // Keys sort after `%08d`, so the bad record is read after good ones.
        let mut k = b"~".to_vec();
        k.extend_from_slice(key);
        let db = format!("{name}_lmdb");
        // Two batches of 4 are read in training: 6 good records, then the bad one.
        lmdb(&dir, &db, 6, &[(&k, value)]);
        let shown = if key == bad_key {
            "~\\x01\\xfe\\x00bin\\x1b[31m"
        } else {
            "~\\xee\\xee"
        };
        let out = caffers(&dir, &["compute-mean", &db, "mean.binaryproto"]);
        assert_clean_error(&out, &[&db, shown, why]);
        let err = stderr(&out);
        assert!(
            !err.contains('\u{1b}') && !err.contains('\0'),
            "{name}: raw bytes:\n{err:?}"
        );
        assert!(err.len() < 2000, "{name}: the key is echoed whole:\n{err}");
        let s = solver(&dir, &db);
        let out = caffers(&dir, &["train", &s]);
        assert_clean_error(&out, &[&db, why]);
        assert!(
            !stderr(&out).contains('\u{1b}'),
            "{name}: raw bytes in train's message"
        );
    }
}

/// Whether `dir` holds an LMDB under a final (not temporary) name.
fn final_lmdbs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_killed_data_run_leaves_no_dataset_and_a_rerun_works() {
    let dir = workdir("data-killed");
    let mnist = repo().join("../shared/data/mnist");
    let from = mnist.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .args([
            "data",
            "mnist",
            "--offline",
            "--from",
            &from,
            "--out",
            "out",
        ])
        .current_dir(&dir)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = dir.join("out");
    // Kill it once it has written part of the training LMDB.
    let started = Instant::now();
    let writing = loop {
        let partial = std::fs::read_dir(&out).ok().and_then(|entries| {
            entries.flatten().find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".mnist_train_lmdb.partial-")
            })
        });
        let size = partial
            .and_then(|p| std::fs::metadata(p.path().join("data.mdb")).ok())
            .map_or(0, |m| m.len());
        if size > 1 << 20 {
            break true;
        }
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(writing, "never saw the LMDB being written");
    assert!(
        final_lmdbs(&out).is_empty(),
        "left behind: {:?}",
        final_lmdbs(&out)
    );
    // The rerun removes the dead run's temporary and makes both LMDBs whole.
    let again = caffers(
        &dir,
        &[
            "data",
            "mnist",
            "--offline",
            "--from",
            &from,
            "--out",
            "out",
        ],
    );
    assert_success(&again);
    assert!(
        stderr(&again).contains("left by an interrupted run"),
        "{}",
        stderr(&again)
    );
    let mut names = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>();
    names.sort();
    assert_eq!(names, ["mnist_test_lmdb", "mnist_train_lmdb"]);
    let mean = caffers(
        &dir,
        &["compute-mean", "out/mnist_test_lmdb", "mean.binaryproto"],
    );
    assert_success(&mean);
}

/// Gzips `parts` (written in order, each `count` times) into `dir/name`.
fn gzip(dir: &Path, name: &str, parts: &[(&[u8], usize)]) {
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let mut gz = GzEncoder::new(file, Compression::fast());
    for (bytes, count) in parts {
        for _ in 0..*count {
            gz.write_all(bytes).unwrap();
        }
    }
    gz.finish().unwrap();
}

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

#[test]
fn hostile_mnist_headers_and_a_gzip_bomb_are_refused_quickly() {
    let dir = workdir("data-idx");
    let zeros = vec![0u8; 1 << 20];
    let labels = idx_header(2049, &[10]);
    let cases: Vec<(&str, Vec<u8>, usize, &str)> = vec![
        (
            "count_2_31",
            idx_header(2051, &[1 << 31, 28, 28]),
            0,
            "header claims",
        ),
        (
            "cube_65536",
            idx_header(2051, &[65536, 65536, 65536]),
            0,
            "header claims",
        ),
        (
            "max_u32",
            idx_header(2051, &[u32::MAX, u32::MAX, u32::MAX]),
            0,
            "header claims",
        ),
        // 2 GB claimed, 300 MB of zeros behind it: more than the file can expand to.
        (
            "bomb",
            idx_header(2051, &[2000, 1000, 1000]),
            300,
            "header claims",
        ),
        ("truncated", idx_header(2051, &[10, 28, 28]), 0, "truncated"),
        ("empty", idx_header(2051, &[0, 28, 28]), 0, "holds 0 images"),
        (
            "wrong_magic",
            idx_header(2049, &[10, 28, 28]),
            0,
            "wrong IDX magic",
        ),
    ];
    for (name, header, megabytes, why) in cases {
        let from = dir.join(name);
        std::fs::create_dir_all(&from).unwrap();
        gzip(
            &from,
            "train-images-idx3-ubyte.gz",
            &[(&header, 1), (&zeros, megabytes), (&[0; 100], 1)],
        );
        gzip(
            &from,
            "train-labels-idx1-ubyte.gz",
            &[(&labels, 1), (&[1; 10], 1)],
        );
        for f in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            std::fs::copy(from.join(f.replace("t10k", "train")), from.join(f)).unwrap();
        }
        let started = Instant::now();
        let out = caffers(
            &dir,
            &[
                "data",
                "mnist",
                "--from",
                name,
                "--out",
                &format!("{name}_out"),
            ],
        );
        assert_clean_error(&out, &["train-images-idx3-ubyte.gz", why]);
        assert!(started.elapsed() < Duration::from_secs(20), "{name}: slow");
        assert!(final_lmdbs(&dir.join(format!("{name}_out"))).is_empty());
    }
}

/// One file in a tar: its path and bytes.
type Entry<'a> = (&'a str, &'a [u8]);

/// A .tar.gz of `entries` into `dir/name`.
fn targz(dir: &Path, name: &str, entries: &[Entry]) {
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::fast()));
    for (path, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, path, *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
fn hostile_cifar_archives_are_refused() {
    let dir = workdir("data-cifar");
    let record = 1 + 3 * 32 * 32;
    let one = vec![1u8; record];
    let bomb = vec![0u8; 300 << 20];
    let over = vec![0u8; 10001 * record];
    let cases: Vec<(&str, Vec<Entry>, &str)> = vec![
        (
            "bomb",
            vec![("cifar-10-batches-bin/junk.bin", &bomb)],
            "decompresses to more than",
        ),
        (
            "oversize",
            vec![("cifar-10-batches-bin/data_batch_1.bin", &over)],
            "more than a CIFAR-10 batch",
        ),
        (
            "twice",
            vec![("a/test_batch.bin", &one), ("b/test_batch.bin", &one)],
            "holds test_batch.bin twice",
        ),
        (
            "ragged",
            vec![("a/test_batch.bin", &one[..100])],
            "whole number",
        ),
        (
            "missing",
            vec![("a/test_batch.bin", &one)],
            "has no data_batch_1.bin",
        ),
    ];
    for (name, entries, why) in cases {
        let file = format!("{name}.tar.gz");
        targz(&dir, &file, &entries);
        let out = caffers(
            &dir,
            &[
                "data",
                "cifar10",
                "--from",
                &file,
                "--out",
                &format!("{name}_out"),
            ],
        );
        assert_clean_error(&out, &[&file, why]);
        assert!(final_lmdbs(&dir.join(format!("{name}_out"))).is_empty());
    }
}

#[test]
fn downloads_are_refused_offline_with_where_to_put_the_archive() {
    let dir = workdir("data-offline");
    // Nothing under ../shared from here, so each command would download.
    let out = caffers(&dir, &["data", "mnist", "--offline", "--out", "o"]);
    assert_clean_error(
        &out,
        &[
            "downloads are off",
            "train-images-idx3-ubyte.gz",
            "data/downloads/mnist",
        ],
    );
    write(&dir, "caffers.toml", "offline = true\n");
    let out = caffers(&dir, &["data", "cifar10"]);
    assert_clean_error(
        &out,
        &[
            "downloads are off",
            "cifar-10-binary.tar.gz",
            "cifar10_archive",
        ],
    );
    let s = solver(&dir, "data/mnist_train_lmdb");
    let out = caffers(&dir, &["train", &s]);
    assert_clean_error(&out, &["downloads are off", "mnist_archive"]);
    assert!(!dir
        .join("data/downloads/mnist/train-images-idx3-ubyte.gz")
        .exists());
}
