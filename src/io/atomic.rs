//! Writing a file so that readers see the old contents or the new, never a mix or
//! a truncated file: a fresh temporary file beside the destination, created
//! exclusively (a link planted at its name is never followed), filled, synced,
//! renamed over the destination, and the directory synced. Every failure removes
//! the temporary file, so a failed write leaves the previous file and no litter.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes the temporary files of one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many taken names to skip before giving up: each is something another
/// process (or an attacker) planted at a name this process would use.
const ATTEMPTS: usize = 64;

/// The directory `path` lives in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `.<name>.<pid>.<n>.tmp` beside `path`: hidden, and unique to this process.
pub fn temporary_name(path: &Path, n: u64) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let pid = std::process::id();
    directory_of(path).join(format!(".{name}.{pid}.{n}.tmp"))
}

/// Creates a new temporary file beside `path` with O_CREAT|O_EXCL, which fails on
/// any existing name, a symbolic link included, rather than opening its target.
fn create_temporary(path: &Path) -> Result<(File, PathBuf)> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let tmp = temporary_name(path, COUNTER.fetch_add(1, Ordering::Relaxed));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some((tmp, e)),
            Err(e) => return Err(Error::io_write(&tmp, e)),
        }
    }
    let (tmp, e) = last.expect("at least one attempt");
    Err(Error::io_write(&tmp, e))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file, tmp| {
        file.write_all(bytes).map_err(|e| Error::io_write(tmp, e))
    })
}

/// Writes `path` atomically with `fill`, which gets the open temporary file and its
/// name (for messages).
pub fn write_atomically_with(
    path: &Path,
    fill: impl FnOnce(&mut File, &Path) -> Result<()>,
) -> Result<()> {
    let (mut file, tmp) = create_temporary(path)?;
    let written = fill(&mut file, &tmp)
        .and_then(|()| file.sync_all().map_err(|e| Error::io_write(&tmp, e)))
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path).map_err(|e| Error::io_write(path, e))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    sync_directory(directory_of(path))
}

/// Makes a rename in `dir` durable.
fn sync_directory(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io_write(dir, e))
}

/// Caffe's start-of-training check: creates, fills, syncs and removes a probe file
/// in `dir`, so an unwritable directory or a full disk is found before any work.
pub fn check_writable(dir: &Path) -> Result<()> {
    let (mut file, tmp) = create_temporary(&dir.join("probe"))?;
    let probed = file
        .write_all(&[0; 4096])
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io_write(&tmp, e));
    drop(file);
    let removed = std::fs::remove_file(&tmp).map_err(|e| Error::io_write(&tmp, e));
    probed.and(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(case: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("caffers-atomic-{case}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn litter(d: &Path) -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let d = dir("replace");
        let p = d.join("w.caffemodel");
        write_atomically(&p, b"one").unwrap();
        write_atomically(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert!(litter(&d).is_empty(), "{:?}", litter(&d));
    }

    #[test]
    fn links_at_the_temporary_names_are_not_followed() {
        let d = dir("links");
        let target = d.join("target");
        std::fs::write(&target, b"precious").unwrap();
        let p = d.join("w.solverstate");
        // Plant a link at each of the next names this process would try.
        let next = COUNTER.load(Ordering::SeqCst);
        for n in next..next + 8 {
            std::os::unix::fs::symlink(&target, temporary_name(&p, n)).unwrap();
        }
        write_atomically(&p, b"state").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert_eq!(std::fs::read(&p).unwrap(), b"state");
    }

    #[test]
    fn a_link_at_the_final_name_is_replaced_not_followed() {
        let d = dir("final");
        let target = d.join("target");
        std::fs::write(&target, b"precious").unwrap();
        let p = d.join("m.caffemodel");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        write_atomically(&p, b"weights").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert!(!std::fs::symlink_metadata(&p).unwrap().is_symlink());
        assert_eq!(std::fs::read(&p).unwrap(), b"weights");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_says_cannot_write() {
        let d = dir("fail");
        let p = d.join("w.caffemodel");
        write_atomically(&p, b"old").unwrap();
        let e = write_atomically_with(&p, |_, tmp| {
            Err(Error::io_write(tmp, std::io::Error::other("disk full")))
        })
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("cannot write `"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(litter(&d).is_empty(), "{:?}", litter(&d));
        // A destination in a missing directory: no temporary can even be made.
        let e = write_atomically(&d.join("no/such/w"), b"x").unwrap_err();
        assert!(e.to_string().starts_with("cannot write `"), "{e}");
    }

    #[test]
    fn the_probe_finds_unwritable_directories_and_cleans_up() {
        let d = dir("probe");
        check_writable(&d).unwrap();
        assert!(std::fs::read_dir(&d).unwrap().next().is_none());
        // A "directory" that is a regular file: refused even as root.
        let file = d.join("plain");
        std::fs::write(&file, b"").unwrap();
        let e = check_writable(&file).unwrap_err().to_string();
        assert!(
            e.starts_with("cannot write `") && e.contains("plain"),
            "{e}"
        );
    }
}
