//! Parses and builds every reference file in ../shared/caffe-reference: the whole
//! front end (text, schema, upgrades, graph with shapes) over the 54 files.
//! `cargo bench --bench parse_reference`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use caffers::layers::BuildContext;
use caffers::load::{load_any, Loaded};
use caffers::net::filter::phases_mentioned;
use caffers::net::{build, net_state};
use criterion::{criterion_group, criterion_main, Criterion};

fn reference_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable folder") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "prototxt") {
                out.push(path);
            }
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/caffe-reference");
    let mut paths = Vec::new();
    walk(&dir, &mut paths);
    paths.sort();
    paths
}

/// Shapes for every data layer top the reference nets use (batch sizes as theirs).
fn context() -> BuildContext {
    let shapes: HashMap<String, Vec<usize>> = [
        ("data", vec![32, 3, 227, 227]),
        ("label", vec![32]),
        ("pair_data", vec![64, 2, 28, 28]),
        ("sim", vec![64]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    BuildContext {
        phase: None,
        data_shapes: shapes,
        external_data: true,
    }
}

/// Parses every file and builds every net in each phase it declares. Returns how
/// many files parsed and how many graphs built.
fn parse_and_build(files: &[PathBuf], ctx: &BuildContext) -> (usize, usize) {
    let (mut parsed, mut built) = (0, 0);
    for path in files {
        // Read, parse, decide net or solver, deserialize, upgrade: what `check` does.
        let loaded = match load_any(path) {
            Ok(Loaded::Net(loaded)) => loaded,
            Ok(Loaded::Solver(..)) => {
                parsed += 1;
                continue;
            }
            Err(_) => continue,
        };
        parsed += 1;
        for phase in phases_mentioned(&loaded.net) {
            let state = net_state(&loaded.net, phase, None, &[]);
            built += build(&loaded.net, &state, &loaded.source, ctx).is_ok() as usize;
        }
    }
    (parsed, built)
}

/// User + system CPU time of this process in clock ticks (Linux only).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn bench(c: &mut Criterion) {
    let files = reference_files();
    let ctx = context();
    let (parsed, built) = parse_and_build(&files, &ctx);
    eprintln!(
        "{} files, {parsed} parsed; {built} graphs built (nets whose layer types are all registered)",
        files.len()
    );
    assert_eq!(parsed, files.len(), "every reference file parses");
    // On a shared machine wall time includes waiting for a core; the CPU time this
    // process spends per pass is the figure that does not depend on the neighbours.
    if let Some(before) = cpu_ticks() {
        let start = std::time::Instant::now();
        let n = 100;
        for _ in 0..n {
            std::hint::black_box(parse_and_build(&files, &ctx));
        }
        if let Some(after) = cpu_ticks() {
            // Linux reports ticks of 1/100 s.
            eprintln!(
                "CPU time per pass: {:.1} ms (wall {:.1} ms), over {n} passes",
                (after - before) as f64 * 10.0 / n as f64,
                start.elapsed().as_secs_f64() * 1e3 / n as f64
            );
        }
    }
    c.bench_function("parse and build all reference files", |b| {
        b.iter(|| parse_and_build(std::hint::black_box(&files), &ctx))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
