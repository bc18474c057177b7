//! Fetching the official dataset archives: over HTTPS only, announced before they
//! start, checked against the checksums their publishers list, moved into place
//! only when whole and correct, and refused when downloads are off
//! (`--offline`, `offline = true` in caffers.toml).

use std::path::Path;
use std::process::Command;

use crate::log::info;

/// One published file: where it is, its size and its published MD5.
#[derive(Debug, Clone, Copy)]
pub struct Archive {
    pub name: &'static str,
    pub url: &'static str,
    pub bytes: u64,
    pub md5: &'static str,
}

/// MNIST's four IDX files, from the HTTPS mirror torchvision uses (the original
/// site serves plain HTTP); MD5s as published with them.
pub const MNIST: [Archive; 4] = [
    Archive {
        name: "train-images-idx3-ubyte.gz",
        url: "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        bytes: 9_912_422,
        md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    },
    Archive {
        name: "train-labels-idx1-ubyte.gz",
        url: "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
        bytes: 28_881,
        md5: "d53e105ee54ea40749a09fcbcd1e9432",
    },
    Archive {
        name: "t10k-images-idx3-ubyte.gz",
        url: "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
        bytes: 1_648_877,
        md5: "9fb629c4189551a2d022fa330f9573f3",
    },
    Archive {
        name: "t10k-labels-idx1-ubyte.gz",
        url: "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
        bytes: 4_542,
        md5: "ec29112dd5afa0611ce80d1b7f02629c",
    },
];

/// CIFAR-10's binary version, as published on its page.
pub const CIFAR10: Archive = Archive {
    name: "cifar-10-binary.tar.gz",
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    bytes: 170_052_171,
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
};

/// Downloads `archive` to `dest`; `offline` refuses, saying where the file goes.
pub fn fetch(archive: &Archive, dest: &Path, offline: bool) -> Result<(), String> {
    let name = archive.name;
    if offline {
        return Err(format!(
            "{name} is needed but downloads are off (--offline or `offline = true` in caffers.toml): \
             put the file at `{}`, or name its folder or file in caffers.toml \
             (mnist_archive, cifar10_archive) or with --from",
            dest.display()
        ));
    }
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    info(
        "download",
        &format!(
            "downloading {name} from {} ({:.1} MB) to {}",
            archive.url,
            archive.bytes as f64 / 1e6,
            dest.display()
        ),
    );
    let part = dest.with_file_name(format!(".{name}.part-{}", std::process::id()));
    let status = Command::new("curl")
        .args([
            "--proto",
            "=https",
            "--proto-redir",
            "=https",
            "-L",
            "--fail",
        ])
        .args(["--progress-bar", "-o"])
        .arg(&part)
        .arg(archive.url)
        .status()
        .map_err(|e| {
            format!(
                "cannot run curl to download {name} ({e}); put the file at `{}` by hand",
                dest.display()
            )
        })?;
    let checked = if status.success() {
        verify(&part, archive)
    } else {
        Err(format!(
            "downloading {name} from {} failed (curl: {status}); put the file at `{}` by hand",
            archive.url,
            dest.display()
        ))
    };
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, dest)
        .map_err(|e| format!("cannot move the download to `{}`: {e}", dest.display()))
}

/// The MD5 of everything `r` yields, as 32 lowercase hex digits (the form the
/// archives' publishers list).
fn md5_hex(mut r: impl std::io::Read) -> std::io::Result<String> {
    use md5::{Digest, Md5};
    let mut hasher = Md5::new();
    std::io::copy(&mut r, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Checks that `file` is `archive` by its published MD5.
pub fn verify(file: &Path, archive: &Archive) -> Result<(), String> {
    let shown = file.display();
    let f = std::fs::File::open(file).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let got = md5_hex(f).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if got != archive.md5 {
        return Err(format!(
            "`{shown}` is not the published {}: its MD5 is {got}, the published one {}",
            archive.name, archive.md5
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_texts() {
        let md5 = |s: &[u8]| md5_hex(s).unwrap();
        assert_eq!(md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn checks_local_files_and_refuses_offline() {
        let dir = std::env::temp_dir().join(format!("caffers-download-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("abc.gz");
        std::fs::write(&file, b"abc").unwrap();
        let abc = Archive {
            name: "abc.gz",
            url: "https://example.invalid/abc.gz",
            bytes: 3,
            md5: "900150983cd24fb0d6963f7d28e17f72",
        };
        verify(&file, &abc).unwrap();
        let e = verify(&file, &CIFAR10).unwrap_err();
        assert!(
            e.contains("not the published cifar-10-binary.tar.gz"),
            "{e}"
        );
        let dest = dir.join("downloads").join(CIFAR10.name);
        let e = fetch(&CIFAR10, &dest, true).unwrap_err();
        assert!(
            e.contains("downloads are off") && e.contains(&dest.display().to_string()),
            "{e}"
        );
        assert!(!dest.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_url_is_https() {
        for a in MNIST.iter().chain([&CIFAR10]) {
            assert!(
                a.url.starts_with("https://") && a.url.ends_with(a.name),
                "{a:?}"
            );
            assert_eq!(a.md5.len(), 32);
        }
    }
}
