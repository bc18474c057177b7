//! LMDB databases as Caffe's db_lmdb: a directory (data.mdb, lock.mdb) holding one
//! unnamed database of key → serialized Datum. Readers share one environment per
//! path for the whole process (LMDB allows a path to be opened once per process).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use heed::types::Bytes;
use heed::{Database, EnvOpenOptions, WithoutTls};

pub type Env = heed::Env<WithoutTls>;
pub type Db = Database<Bytes, Bytes>;

/// Caffe's LMDB_MAP_SIZE (1 TB of address space; the file grows as written).
const MAP_SIZE: usize = 1 << 40;
/// Puts per write transaction, as Caffe's convert tools commit every 1000 records.
const COMMIT_EVERY: usize = 1000;

fn registry() -> &'static Mutex<HashMap<PathBuf, Env>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Env>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether `path` looks like an LMDB directory.
pub fn exists(path: &Path) -> bool {
    path.join("data.mdb").is_file()
}

/// Opens the LMDB at `path` for reading (shared with every other reader of it).
pub fn open(path: &Path) -> Result<(Env, Db), String> {
    let shown = path.display();
    if !exists(path) {
        return Err(if path.exists() {
            format!("`{shown}` is not an LMDB (no data.mdb inside)")
        } else {
            format!("LMDB `{shown}` does not exist")
        });
    }
    let key = path
        .canonicalize()
        .map_err(|e| format!("cannot open LMDB `{shown}`: {e}"))?;
    let mut open = registry().lock().unwrap_or_else(|e| e.into_inner());
    let env = match open.get(&key) {
        Some(env) => env.clone(),
        None => {
            // LMDB trusts its file; a damaged one would end the process with a signal.
            super::lmdb_check::check(&key.join("data.mdb"))?;
            let mut opts = EnvOpenOptions::new().read_txn_without_tls();
            // SAFETY: the database is only read; writers in other processes are
            // LMDB's business (its lock file), as for Caffe.
            let env = unsafe { opts.flags(heed::EnvFlags::READ_ONLY).open(&key) }
                .map_err(|e| format!("cannot open LMDB `{shown}`: {e}"))?;
            open.insert(key, env.clone());
            env
        }
    };
    let db = {
        let rtxn = env
            .read_txn()
            .map_err(|e| format!("cannot read LMDB `{shown}`: {e}"))?;
        let db: Option<Db> = env
            .open_database(&rtxn, None)
            .map_err(|e| format!("cannot read LMDB `{shown}`: {e}"))?;
        db.ok_or_else(|| format!("LMDB `{shown}` holds no database"))?
    };
    Ok((env, db))
}

/// Longest key shown in a message, in characters of its escaped form.
const SHOWN_KEY_MAX: usize = 64;

/// A record key for messages: printable ASCII as is, other bytes as `\xNN`,
/// cut to about 64 characters (keys can be binary and of any length).
pub fn shown_key(key: &[u8]) -> String {
    let mut out = String::new();
    for &b in key {
        if out.len() >= SHOWN_KEY_MAX {
            out.push_str(&format!("… ({} bytes)", key.len()));
            break;
        }
        match b {
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// The first record of the LMDB at `path`: its key (as [`shown_key`]) and value.
pub fn first(path: &Path) -> Result<(String, Vec<u8>), String> {
    let (env, db) = open(path)?;
    let rtxn = env
        .read_txn()
        .map_err(|e| format!("cannot read LMDB `{}`: {e}", path.display()))?;
    let first = db
        .first(&rtxn)
        .map_err(|e| format!("cannot read LMDB `{}`: {e}", path.display()))?;
    match first {
        Some((k, v)) => Ok((shown_key(k), v.to_vec())),
        None => Err(format!("LMDB `{}` holds no records", path.display())),
    }
}

/// Calls `f` with every record (key as [`shown_key`]) in key order; stops early
/// when `f` returns false.
pub fn for_each(
    path: &Path,
    mut f: impl FnMut(&str, &[u8]) -> Result<bool, String>,
) -> Result<(), String> {
    let (env, db) = open(path)?;
    let err = |e: heed::Error| format!("cannot read LMDB `{}`: {e}", path.display());
    let rtxn = env.read_txn().map_err(err)?;
    for item in db.iter(&rtxn).map_err(err)? {
        let (k, v) = item.map_err(err)?;
        if !f(&shown_key(k), v)? {
            break;
        }
    }
    Ok(())
}

/// Writes a new LMDB, committing every 1000 records (Caffe's convert tools).
pub struct Writer {
    path: PathBuf,
    env: heed::Env,
    db: Db,
    pending: Vec<(Vec<u8>, Vec<u8>)>,
    pub written: usize,
}

impl Writer {
    /// Creates the LMDB directory; it must not exist yet (Caffe's db::NEW).
    pub fn create(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        if path.exists() {
            return Err(format!("`{shown}` already exists; remove it first"));
        }
        std::fs::create_dir_all(path).map_err(|e| format!("cannot create `{shown}`: {e}"))?;
        let mut opts = EnvOpenOptions::new();
        opts.map_size(MAP_SIZE);
        // SAFETY: a fresh directory that nothing else has open.
        let env =
            unsafe { opts.open(path) }.map_err(|e| format!("cannot create LMDB `{shown}`: {e}"))?;
        let mut wtxn = env
            .write_txn()
            .map_err(|e| format!("LMDB `{shown}`: {e}"))?;
        let db: Db = env
            .create_database(&mut wtxn, None)
            .map_err(|e| format!("LMDB `{shown}`: {e}"))?;
        wtxn.commit().map_err(|e| format!("LMDB `{shown}`: {e}"))?;
        Ok(Writer {
            path: path.to_path_buf(),
            env,
            db,
            pending: Vec::new(),
            written: 0,
        })
    }

    /// Adds a record; keys are bytes (Caffe's are text, but LMDB's are not).
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: Vec<u8>) -> Result<(), String> {
        self.pending.push((key.as_ref().to_vec(), value));
        if self.pending.len() >= COMMIT_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let err = |e: heed::Error| format!("cannot write LMDB `{}`: {e}", self.path.display());
        let mut wtxn = self.env.write_txn().map_err(err)?;
        for (k, v) in &self.pending {
            self.db.put(&mut wtxn, k, v).map_err(err)?;
        }
        wtxn.commit().map_err(err)?;
        self.written += self.pending.len();
        self.pending.clear();
        Ok(())
    }

    /// Commits what is left and closes the database; returns the record count.
    pub fn finish(mut self) -> Result<usize, String> {
        self.flush()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::shown_key;

    #[test]
    fn keys_are_escaped_and_cut() {
        assert_eq!(shown_key(b"00000001_a.png"), "00000001_a.png");
        assert_eq!(shown_key(b"a\\b\x00\xff\n"), "a\\\\b\\x00\\xff\\x0a");
        let long = shown_key(&[0xee; 100_000]);
        assert!(
            long.len() < 100 && long.ends_with("(100000 bytes)"),
            "{long}"
        );
    }
}
