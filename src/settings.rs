//! `caffers.toml`: run settings that are not part of any Caffe file. Read from the
//! working directory when present; every field is optional.
//!
//! ```toml
//! threads = 2                  # kernel worker threads, 1 to 1024 (default: one per core)
//! data_dir = "data"            # where `caffers data` writes and `train` looks for LMDBs
//! mnist_archive = "../shared/data/mnist"                        # the four IDX .gz files
//! cifar10_archive = "../shared/data/cifar10/cifar-10-binary.tar.gz"
//! offline = true               # never download a missing archive (as --offline)
//! memory_limit = "8GiB"        # refuse nets whose blobs and parameters need more
//!                              # (bytes or a unit; default: the available memory)
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSettings {
    /// Threads for the kernels; unset means one per core.
    pub threads: Option<usize>,
    /// Folder of the prepared datasets (default `data`).
    pub data_dir: Option<String>,
    /// Folder holding MNIST's four IDX .gz files, used to prepare missing LMDBs.
    pub mnist_archive: Option<String>,
    /// CIFAR-10's binary .tar.gz, used to prepare missing LMDBs.
    pub cifar10_archive: Option<String>,
    /// Refuse to download missing archives.
    pub offline: bool,
    /// The most bytes a net's blobs and parameters may take; unset means the
    /// memory the system reports available when the net is built.
    #[serde(deserialize_with = "memory_size")]
    pub memory_limit: Option<u64>,
}

/// `memory_limit`: a byte count, or a string with a unit ("8GiB").
fn memory_size<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(d) {
        Ok(Size::Bytes(n)) => Ok(Some(n)),
        Ok(Size::Text(t)) => crate::byte_size::parse(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Err(_) => Err(serde::de::Error::custom(
            "memory_limit must be a number of bytes or a string such as \"8GiB\"",
        )),
    }
}

impl RunSettings {
    pub const FILE: &'static str = "caffers.toml";
    /// The most kernel threads a run may ask for: far above any core count the
    /// kernels can use, far below where starting the threads exhausts the machine.
    pub const MAX_THREADS: usize = 1024;

    /// Reads `caffers.toml` from `dir`, or the defaults when there is none.
    pub fn load_from(dir: &Path) -> Result<Self> {
        let path = dir.join(Self::FILE);
        if !path.exists() {
            return Ok(RunSettings::default());
        }
        let src = crate::load::read_text(&path)?;
        let settings: Self = crate::load::from_toml(&src)?;
        if let Some(n) = settings
            .threads
            .filter(|n| !(1..=Self::MAX_THREADS).contains(n))
        {
            return Err(Error::file(
                path.display().to_string(),
                format!(
                    "threads = {n} is out of range: give 1 to {} (or leave it out for one per core)",
                    Self::MAX_THREADS
                ),
            ));
        }
        Ok(settings)
    }

    pub fn data_dir(&self) -> &str {
        self.data_dir.as_deref().unwrap_or("data")
    }

    /// Sets the size of the global thread pool once, before any kernel runs.
    pub fn apply_threads(&self) {
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        // Fails only if the pool already exists (tests), which is harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_and_rejects_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("caffers-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(
            RunSettings::load_from(&dir).unwrap(),
            RunSettings::default()
        );
        std::fs::write(dir.join("caffers.toml"), "threads = 2\ndata_dir = \"d\"\n").unwrap();
        let s = RunSettings::load_from(&dir).unwrap();
        assert_eq!(s.threads, Some(2));
        assert_eq!(s.data_dir(), "d");
        std::fs::write(dir.join("caffers.toml"), "memory_limit = \"2GiB\"\n").unwrap();
        assert_eq!(
            RunSettings::load_from(&dir).unwrap().memory_limit,
            Some(2 << 30)
        );
        std::fs::write(dir.join("caffers.toml"), "memory_limit = 4096\n").unwrap();
        assert_eq!(
            RunSettings::load_from(&dir).unwrap().memory_limit,
            Some(4096)
        );
        std::fs::write(dir.join("caffers.toml"), "memory_limit = \"lots\"\n").unwrap();
        let e = RunSettings::load_from(&dir).unwrap_err().to_string();
        assert!(
            e.contains("caffers.toml:1:") && e.contains("not a memory size"),
            "{e}"
        );
        for n in ["0", "100000", "1025"] {
            std::fs::write(dir.join("caffers.toml"), format!("threads = {n}\n")).unwrap();
            let e = RunSettings::load_from(&dir).unwrap_err().to_string();
            assert!(e.contains(&format!("threads = {n} is out of range")), "{e}");
        }
        std::fs::write(dir.join("caffers.toml"), "thread = 2\n").unwrap();
        let e = RunSettings::load_from(&dir).unwrap_err().to_string();
        assert!(
            e.contains("caffers.toml:1:1") && e.contains("unknown field `thread`"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
