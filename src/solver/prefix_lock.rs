//! One training run per snapshot prefix: an advisory lock (flock) on
//! `<prefix>.lock`, held for the whole run and released by the kernel when the
//! process ends, however it ends. Two runs sharing a prefix would otherwise
//! overwrite each other's snapshots and pair one's weights with the other's state.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::atomic::check_writable;

/// Held while a run owns its prefix; dropping it (or dying) releases the lock.
#[derive(Debug)]
pub struct PrefixLock {
    _file: File,
    pub path: PathBuf,
}

/// `<prefix>.lock`.
pub fn lock_path(prefix: &Path) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// The directory snapshots under `prefix` go to (`.` for a bare prefix).
fn snapshot_directory(prefix: &Path) -> PathBuf {
    if prefix.as_os_str().to_string_lossy().ends_with('/') {
        return prefix.to_path_buf();
    }
    match prefix.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl PrefixLock {
    /// Before training: makes the snapshot directory, proves it writable (Caffe
    /// checks at start, so a bad prefix costs no training time), and takes the
    /// prefix's lock, refusing if another run holds it.
    pub fn claim(prefix: &Path) -> Result<PrefixLock> {
        let dir = snapshot_directory(prefix);
        std::fs::create_dir_all(&dir)
            .map_err(|e| match file_in_the_way(&dir) {
                Some(file) => Error::io_write(
                    &file,
                    std::io::Error::new(
                        std::io::ErrorKind::NotADirectory,
                        "it is a file, not a folder",
                    ),
                ),
                None => Error::io_write(&dir, e),
            })
            .and_then(|()| check_writable(&dir))
            .map_err(|e| {
                Error::file(
                    prefix.display().to_string(),
                    format!("snapshot prefix is not usable: {e}"),
                )
            })?;
        let path = lock_path(prefix);
        // A planted link would make the pid we write land in its target.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(Error::file(
                path.display().to_string(),
                "is not a regular file; remove it to use this snapshot prefix",
            ));
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io_write(&path, e))?;
        let opened = file.metadata().map_err(|e| Error::io(&path, e))?;
        let named = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        if (opened.dev(), opened.ino()) != (named.dev(), named.ino()) {
            return Err(Error::file(
                path.display().to_string(),
                "was replaced while being opened; try again",
            ));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = match holder_pid(&mut file) {
                    Some(pid) => format!("another run (pid {pid})"),
                    None => "another run".to_string(),
                };
                return Err(Error::file(
                    path.display().to_string(),
                    format!(
                        "snapshot prefix `{}` is in use: {holder} holds this lock; give this run another snapshot_prefix or wait for that one to end",
                        prefix.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io_write(&path, e)),
        }
        // Ours now: record who holds it, for the message a second run prints.
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(|e| Error::io_write(&path, e))?;
        Ok(PrefixLock { _file: file, path })
    }
}

/// The first existing ancestor of `dir` (itself included) that is not a folder:
/// what stops the folder from being made, named in the message rather than
/// std's "File exists".
fn file_in_the_way(dir: &Path) -> Option<PathBuf> {
    let mut ancestors: Vec<&Path> = dir.ancestors().collect();
    ancestors.reverse();
    ancestors
        .into_iter()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.exists() && !a.is_dir())
        .map(Path::to_path_buf)
}

/// The pid the holder wrote, if the file holds one.
fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(case: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("caffers-lock-{case}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_dropped() {
        let d = dir("twice");
        let prefix = d.join("snaps/lenet");
        let first = PrefixLock::claim(&prefix).unwrap();
        assert_eq!(first.path, d.join("snaps/lenet.lock"));
        // flock locks belong to the open file, so a second open conflicts even in
        // one process.
        let e = PrefixLock::claim(&prefix).unwrap_err().to_string();
        let pid = std::process::id().to_string();
        assert!(e.contains("lenet.lock") && e.contains("in use"), "{e}");
        assert!(e.contains(&format!("pid {pid}")), "{e}");
        drop(first);
        PrefixLock::claim(&prefix).unwrap();
    }

    #[test]
    fn an_unusable_prefix_is_refused_before_locking() {
        let d = dir("unusable");
        std::fs::write(d.join("file"), b"").unwrap();
        let e = PrefixLock::claim(&d.join("file/lenet"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("snapshot prefix is not usable: cannot write `"),
            "{e}"
        );
        let target = d.join("target");
        std::fs::write(&target, b"precious").unwrap();
        std::os::unix::fs::symlink(&target, d.join("p.lock")).unwrap();
        let e = PrefixLock::claim(&d.join("p")).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    }
}
