//! The names of snapshot files — `<prefix>_iter_<N>.caffemodel`, `.solverstate` —
//! and finding them again: the prefix Caffe picks when none is given, and the
//! newest state to resume from, by iteration number (a copied or touched file's
//! mtime says nothing about how far its run got).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `<prefix>_iter_<iter><extension>`.
pub fn snapshot_path(prefix: &Path, iter: i32, extension: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(format!("_iter_{iter}{extension}"));
    PathBuf::from(s)
}

/// Caffe 1.0's UpgradeSnapshotPrefixProperty: no `snapshot_prefix` → the solver
/// file's path without its extension (`solvers/lenet_solver.prototxt` →
/// `solvers/lenet_solver`); a prefix naming a directory → the solver file's stem
/// inside it. Returns None when the prefix stands as written.
pub fn default_prefix(written: Option<&str>, solver_file: &Path) -> Option<PathBuf> {
    match written {
        None | Some("") => Some(solver_file.with_extension("")),
        Some(dir) if Path::new(dir).is_dir() => {
            Some(Path::new(dir).join(solver_file.file_stem().unwrap_or_default()))
        }
        Some(_) => None,
    }
}

/// The iteration in a snapshot file's name, when it is `<stem>_iter_<N><extension>`;
/// returns (stem, N).
pub fn parse_snapshot_name<'a>(name: &'a str, extension: &str) -> Option<(&'a str, i32)> {
    let rest = name.strip_suffix(extension)?;
    let (stem, iter) = rest.rsplit_once("_iter_")?;
    if iter.is_empty() || !iter.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem, iter.parse().ok()?))
}

/// Every `<stem>_iter_<N><extension>` file directly in `dir` (with `stem` when
/// given), as (N, path), lowest N first. Hidden files (the atomic writer's
/// temporaries) are skipped.
pub fn snapshots_in(
    dir: &Path,
    stem: Option<&str>,
    extension: &str,
) -> Result<Vec<(i32, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| !n.starts_with('.')) else {
            continue;
        };
        if let Some((s, iter)) = parse_snapshot_name(name, extension) {
            if stem.is_none_or(|want| want == s) {
                found.push((iter, entry.path()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The `.solverstate` with the highest iteration under `prefix`
/// (`snapshots/lenet` → the newest `snapshots/lenet_iter_N.solverstate`).
pub fn newest_state_for_prefix(prefix: &Path) -> Result<PathBuf> {
    let dir = match prefix.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let stem = prefix.file_name().unwrap_or_default().to_string_lossy();
    let missing = || {
        Error::Usage(format!(
            "--resume: no {}_iter_N.solverstate to resume from (train without --resume to start afresh)",
            prefix.display()
        ))
    };
    if !dir.is_dir() {
        return Err(missing());
    }
    let states = snapshots_in(dir, Some(&stem), ".solverstate")?;
    states.last().map(|(_, p)| p.clone()).ok_or_else(missing)
}

/// The `.solverstate` with the highest iteration directly in `dir`, whatever its
/// prefix; two prefixes tied at the highest iteration are refused as ambiguous.
pub fn newest_state_in_dir(dir: &Path) -> Result<PathBuf> {
    let states = snapshots_in(dir, None, ".solverstate")?;
    let Some((top, newest)) = states.last() else {
        return Err(Error::Usage(format!(
            "--snapshot {}: the directory holds no <prefix>_iter_N.solverstate",
            dir.display()
        )));
    };
    let tied: Vec<String> = states
        .iter()
        .filter(|(i, _)| i == top)
        .map(|(_, p)| p.display().to_string())
        .collect();
    if tied.len() > 1 {
        return Err(Error::Usage(format!(
            "--snapshot {}: several states are at iteration {top} ({}); name one",
            dir.display(),
            tied.join(", ")
        )));
    }
    Ok(newest.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(name: &str, files: &[&str]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("caffers-snapfiles-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), "").unwrap();
        }
        dir
    }

    #[test]
    fn names_parse_back() {
        let p = snapshot_path(Path::new("s/lenet"), 150, ".solverstate");
        assert_eq!(p, Path::new("s/lenet_iter_150.solverstate"));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            parse_snapshot_name(name, ".solverstate"),
            Some(("lenet", 150))
        );
        assert_eq!(
            parse_snapshot_name("a_iter_x.solverstate", ".solverstate"),
            None
        );
        assert_eq!(
            parse_snapshot_name("a_iter_3.caffemodel", ".solverstate"),
            None
        );
        assert_eq!(
            parse_snapshot_name("a_iter_3.ema.caffemodel", ".caffemodel"),
            None
        );
    }

    #[test]
    fn caffe_picks_a_prefix_from_the_solver_file() {
        let solver = Path::new("solvers/lenet_solver.prototxt");
        assert_eq!(
            default_prefix(None, solver),
            Some(PathBuf::from("solvers/lenet_solver"))
        );
        assert_eq!(
            default_prefix(Some(""), solver),
            Some(PathBuf::from("solvers/lenet_solver"))
        );
        assert_eq!(default_prefix(Some("snapshots/lenet"), solver), None);
        let dir = dir_with("prefixdir", &[]);
        let d = dir.display().to_string();
        assert_eq!(
            default_prefix(Some(&d), solver),
            Some(dir.join("lenet_solver"))
        );
    }

    #[test]
    fn newest_is_by_iteration_not_by_name_or_time() {
        let dir = dir_with(
            "newest",
            &[
                "lenet_iter_900.solverstate",
                "lenet_iter_1000.solverstate",
                "lenet_iter_5000.caffemodel",
                "other_iter_2000.solverstate",
                ".lenet_iter_3000.solverstate.1.0.tmp",
            ],
        );
        let newest = newest_state_for_prefix(&dir.join("lenet")).unwrap();
        assert_eq!(newest, dir.join("lenet_iter_1000.solverstate"));
        assert_eq!(
            newest_state_in_dir(&dir).unwrap(),
            dir.join("other_iter_2000.solverstate")
        );
        let e = newest_state_for_prefix(&dir.join("absent"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no ") && e.contains("absent_iter_N.solverstate"),
            "{e}"
        );
        std::fs::write(dir.join("lenet_iter_2000.solverstate"), "").unwrap();
        let e = newest_state_in_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("several states are at iteration 2000"), "{e}");
        let empty = dir_with("empty", &[]);
        let e = newest_state_in_dir(&empty).unwrap_err().to_string();
        assert!(e.contains("holds no"), "{e}");
    }
}
