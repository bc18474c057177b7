//! Reading Caffe's LevelDB databases (`backend: LEVELDB`, the default of old
//! prototxt files and of Caffe's convert tools before LMDB), in key order, with
//! `rusty-leveldb` (pure Rust; reads the Snappy-compressed tables Caffe's leveldb
//! writes). Opening a LevelDB writes its LOCK/LOG files and takes its lock, as
//! Caffe's does: one reader at a time per database.

use std::path::Path;

use rusty_leveldb::{LdbIterator, Options, DB};

use super::lmdb::shown_key;

/// Whether `path` looks like a LevelDB directory.
pub fn exists(path: &Path) -> bool {
    path.join("CURRENT").is_file()
}

fn open(path: &Path) -> Result<DB, String> {
    let shown = path.display();
    if !exists(path) {
        return Err(if path.exists() {
            format!("`{shown}` is not a LevelDB (no CURRENT file inside)")
        } else {
            format!("LevelDB `{shown}` does not exist")
        });
    }
    let options = Options {
        create_if_missing: false,
        paranoid_checks: true,
        ..Options::default()
    };
    DB::open(path, options).map_err(|e| format!("cannot open LevelDB `{shown}`: {e}"))
}

/// Records in key order, starting over after the last one.
pub struct Cursor {
    db: DB,
    iter: rusty_leveldb::DBIterator,
    shown: String,
}

impl Cursor {
    pub fn open(path: &Path) -> Result<Self, String> {
        let mut db = open(path)?;
        let shown = path.display().to_string();
        let iter = db
            .new_iter()
            .map_err(|e| format!("cannot read LevelDB `{shown}`: {e}"))?;
        Ok(Cursor { db, iter, shown })
    }

    /// The next record (key as [`shown_key`], value); `wrapped` is set when the
    /// cursor went back to the first record to give it.
    pub fn next_record(&mut self, wrapped: &mut bool) -> Result<(String, Vec<u8>), String> {
        *wrapped = false;
        if let Some((k, v)) = self.iter.next() {
            return Ok((shown_key(&k), v));
        }
        *wrapped = true;
        self.iter = self
            .db
            .new_iter()
            .map_err(|e| format!("cannot read LevelDB `{}`: {e}", self.shown))?;
        match self.iter.next() {
            Some((k, v)) => Ok((shown_key(&k), v)),
            None => Err(format!("LevelDB `{}` holds no records", self.shown)),
        }
    }

    /// How many records the database holds (one pass over it).
    pub fn count(&mut self) -> Result<u64, String> {
        let mut iter = self
            .db
            .new_iter()
            .map_err(|e| format!("cannot read LevelDB `{}`: {e}", self.shown))?;
        let mut n = 0;
        while iter.advance() {
            n += 1;
        }
        Ok(n)
    }
}

/// The first record of the LevelDB at `path`: its key and value.
pub fn first(path: &Path) -> Result<(String, Vec<u8>), String> {
    let mut cursor = Cursor::open(path)?;
    let mut wrapped = false;
    let record = cursor.next_record(&mut wrapped)?;
    Ok(record)
}

/// Calls `f` with every record in key order; stops early when `f` returns false.
pub fn for_each(
    path: &Path,
    mut f: impl FnMut(&str, &[u8]) -> Result<bool, String>,
) -> Result<(), String> {
    let mut db = open(path)?;
    let mut iter = db
        .new_iter()
        .map_err(|e| format!("cannot read LevelDB `{}`: {e}", path.display()))?;
    while let Some((k, v)) = iter.next() {
        if !f(&shown_key(&k), &v)? {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `records` into a new LevelDB at `path` (what Caffe's convert tools
    /// made with `--backend leveldb`).
    pub(crate) fn write(path: &Path, records: &[(String, Vec<u8>)]) {
        let options = Options {
            create_if_missing: true,
            ..Options::default()
        };
        let mut db = DB::open(path, options).unwrap();
        for (k, v) in records {
            db.put(k.as_bytes(), v).unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
    }

    #[test]
    fn records_come_in_key_order_and_wrap() {
        let dir = std::env::temp_dir().join(format!("caffers-ldb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let records: Vec<(String, Vec<u8>)> = [2, 0, 1]
            .iter()
            .map(|i| (format!("{i:08}"), vec![*i as u8; 3]))
            .collect();
        write(&dir, &records);
        let mut cursor = Cursor::open(&dir).unwrap();
        assert_eq!(cursor.count().unwrap(), 3);
        let mut wrapped = false;
        let keys: Vec<String> = (0..4)
            .map(|_| cursor.next_record(&mut wrapped).unwrap().0)
            .collect();
        assert!(wrapped, "the fourth record is the first again");
        assert_eq!(keys, ["00000000", "00000001", "00000002", "00000000"]);
        drop(cursor); // LevelDB allows one open handle per database
        assert_eq!(first(&dir).unwrap().1, vec![0u8; 3]);
        let e = Cursor::open(&dir.join("missing")).err().unwrap();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
