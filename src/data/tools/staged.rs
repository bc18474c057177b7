//! Building a dataset (an LMDB directory or a mean file) under a temporary name
//! beside its final path and renaming it into place only when it is complete, so
//! that a run killed part way never leaves a half-made dataset under the name later
//! runs read. Temporaries are `.<name>.partial-<pid>`; those of processes that no
//! longer run are removed when the same dataset is built again.

use std::path::{Path, PathBuf};

use crate::log::info;

/// A dataset under construction; dropped without [`Staged::commit`], it is removed.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    dest: PathBuf,
    done: bool,
}

fn prefix(dest: &Path) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.partial-")
}

impl Staged {
    /// Starts building `dest`, which must not exist yet (an LMDB: Caffe's db::NEW).
    pub fn new(dest: &Path) -> Result<Self, String> {
        if dest.exists() {
            return Err(format!(
                "`{}` already exists; remove it first",
                dest.display()
            ));
        }
        Self::replacing(dest)
    }

    /// Starts building the file `dest`, which the commit replaces when it exists.
    pub fn replacing(dest: &Path) -> Result<Self, String> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| {
            format!(
                "cannot write `{}`: its folder `{}` cannot be made: {e}",
                dest.display(),
                parent.display()
            )
        })?;
        remove_stale(&parent, &prefix(dest));
        let temp = parent.join(format!("{}{}", prefix(dest), std::process::id()));
        remove(&temp);
        Ok(Staged {
            temp,
            dest: dest.to_path_buf(),
            done: false,
        })
    }

    /// Where to write the dataset while it is being built.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Moves the complete dataset to its final name.
    pub fn commit(mut self) -> Result<(), String> {
        std::fs::rename(&self.temp, &self.dest).map_err(|e| {
            format!(
                "cannot move `{}` to `{}`: {e}",
                self.temp.display(),
                self.dest.display()
            )
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            remove(&self.temp);
        }
    }
}

fn remove(path: &Path) {
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// Removes the temporaries in `dir` starting with `prefix` whose process is gone
/// (a killed build); those of a live process are another build in progress.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix) else {
            continue;
        };
        let alive = pid.parse::<u32>().is_ok_and(|pid| {
            pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
        });
        if !alive {
            info(
                "staged",
                &format!(
                    "removing `{}`, left by an interrupted run",
                    entry.path().display()
                ),
            );
            remove(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_when_committed_and_clears_stale_temporaries() {
        let dir = std::env::temp_dir().join(format!("caffers-staged-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("set_lmdb");
        // A temporary of a process that cannot exist (pids are below 2^22 on Linux).
        let stale = dir.join(".set_lmdb.partial-4294967295");
        std::fs::create_dir_all(&stale).unwrap();
        let other = dir.join(".other_lmdb.partial-4294967295");
        std::fs::create_dir_all(&other).unwrap();
        let s = Staged::new(&dest).unwrap();
        assert!(!stale.exists() && other.exists());
        std::fs::create_dir_all(s.path()).unwrap();
        std::fs::write(s.path().join("data.mdb"), b"x").unwrap();
        assert!(!dest.exists());
        drop(s);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "only `other` is left"
        );
        let s = Staged::new(&dest).unwrap();
        std::fs::write(s.path(), b"mean").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"mean");
        assert!(Staged::new(&dest).unwrap_err().contains("already exists"));
        let s = Staged::replacing(&dest).unwrap();
        std::fs::write(s.path(), b"new").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
