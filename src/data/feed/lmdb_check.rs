//! Checks an LMDB's data.mdb with plain file reads before LMDB maps it. LMDB
//! trusts its file: a page past the end of a truncated file is a SIGBUS, a node
//! offset or size that points outside its page is a SIGSEGV or garbage. So the
//! meta pages (magic, version, page size, last page against the file's real size)
//! and every branch and leaf page of the main database reachable from the root
//! (page numbers, bounds of every node, overflow page runs) are verified first.
//!
//! Layout (liblmdb's mdb.c, 64-bit build, as heed's lmdb-master-sys compiles it):
//! a page starts with `pgno: u64, pad: u16, flags: u16, lower: u16, upper: u16`
//! (overflow pages: `pages: u32` in place of lower/upper); the meta follows the
//! header of pages 0 and 1 as `magic: u32, version: u32, address: u64,
//! mapsize: u64, dbs: [MDB_db; 2], last_pg: u64, txnid: u64`, where an `MDB_db` is
//! `pad: u32 (page size in the free db), flags: u16, depth: u16, branch, leaf,
//! overflow, entries, root: u64`. A node is `lo: u16, hi: u16, flags: u16,
//! ksize: u16`, then key and data.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: u32 = 0xBEEF_C0DE;
const DATA_VERSION: u32 = 1;
const PAGE_HEADER: usize = 16;
const NODE_HEADER: usize = 8;
const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
const P_META: u16 = 0x08;
const F_BIGDATA: u16 = 0x01;
const NO_PAGE: u64 = u64::MAX;
/// Deeper than any B-tree a file of 2^64 bytes can hold.
const MAX_DEPTH: u16 = 64;

/// The parts of the current meta page the walk needs.
struct Meta {
    page_size: usize,
    pages: u64,
    root: u64,
    depth: u16,
    txnid: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Verifies `data_mdb` (an LMDB's data file); the error says what is wrong and where.
pub fn check(data_mdb: &Path) -> Result<(), String> {
    let shown = data_mdb.display();
    let bad = |what: String| format!("`{shown}` is not a usable LMDB: {what}");
    let file = File::open(data_mdb).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?
        .len();
    let m0 = read_meta(&file, 0, len, None).map_err(|e| bad(format!("meta page 0: {e}")))?;
    let m1 = read_meta(&file, 1, len, Some(m0.page_size))
        .map_err(|e| bad(format!("meta page 1: {e}")))?;
    // LMDB reads the meta with the newer transaction (mdb_env_pick_meta).
    let (meta, which) = if m0.txnid < m1.txnid {
        (m1, 1)
    } else {
        (m0, 0)
    };
    Walk {
        file: &file,
        meta: &meta,
        seen: vec![false; meta.pages as usize],
        page: vec![0; meta.page_size],
    }
    .tree()
    .map_err(|e| bad(format!("{e} (main database of meta page {which})")))
}

/// Reads and checks meta page `index`; `page_size` is meta 0's for meta 1.
fn read_meta(file: &File, index: u64, len: u64, page_size: Option<usize>) -> Result<Meta, String> {
    let offset = index * page_size.unwrap_or(0) as u64;
    let mut b = [0u8; 152];
    if len < offset + b.len() as u64 {
        return Err(format!("the file ends at byte {len}, inside the meta page"));
    }
    file.read_exact_at(&mut b, offset)
        .map_err(|e| e.to_string())?;
    let h = PAGE_HEADER;
    if u32_at(&b, h) != MAGIC {
        return Err(format!(
            "wrong magic number {:#010x} (LMDB's is {MAGIC:#010x})",
            u32_at(&b, h)
        ));
    }
    if u32_at(&b, h + 4) != DATA_VERSION {
        return Err(format!(
            "format version {} (supported: {DATA_VERSION})",
            u32_at(&b, h + 4)
        ));
    }
    if u16_at(&b, 10) & P_META == 0 || u64_at(&b, 0) != index {
        return Err("the page is not marked as a meta page".into());
    }
    let dbs = h + 24;
    let main = dbs + 48;
    let size = u32_at(&b, dbs) as usize;
    if !size.is_power_of_two() || !(512..=65536).contains(&size) {
        return Err(format!(
            "page size {size} is not a power of two in 512..=65536"
        ));
    }
    if page_size.is_some_and(|p| p != size) {
        return Err(format!("page size {size} differs from meta page 0's"));
    }
    let last = u64_at(&b, dbs + 96);
    let pages = last.saturating_add(1);
    let needed = pages.saturating_mul(size as u64);
    if last < 1 || needed > len {
        return Err(format!(
            "it records {pages} pages of {size} bytes ({needed} bytes) but the file holds {len} bytes (truncated?)"
        ));
    }
    let root = u64_at(&b, main + 40);
    if root != NO_PAGE && (root < 2 || root > last) {
        return Err(format!("root page {root} is outside pages 2..={last}"));
    }
    let depth = u16_at(&b, main + 6);
    if depth > MAX_DEPTH {
        return Err(format!("tree depth {depth} is impossible"));
    }
    Ok(Meta {
        page_size: size,
        pages,
        root,
        depth,
        txnid: u64_at(&b, dbs + 104),
    })
}

struct Walk<'a> {
    file: &'a File,
    meta: &'a Meta,
    /// Pages already reached, so that a cycle or a shared page is caught.
    seen: Vec<bool>,
    page: Vec<u8>,
}

impl Walk<'_> {
    fn tree(&mut self) -> Result<(), String> {
        if self.meta.root == NO_PAGE {
            return Ok(());
        }
        let mut stack = vec![(self.meta.root, 1u16)];
        while let Some((pgno, level)) = stack.pop() {
            if level > self.meta.depth {
                return Err(format!(
                    "page {pgno} lies deeper than the recorded depth {}",
                    self.meta.depth
                ));
            }
            let children = self.page(pgno, level == self.meta.depth)?;
            stack.extend(children.into_iter().map(|c| (c, level + 1)));
        }
        Ok(())
    }

    /// Checks branch or leaf page `pgno`; returns a branch page's children.
    fn page(&mut self, pgno: u64, leaf_level: bool) -> Result<Vec<u64>, String> {
        let size = self.meta.page_size;
        if pgno < 2 || pgno >= self.meta.pages {
            return Err(format!(
                "a link to page {pgno}, outside 2..{}",
                self.meta.pages
            ));
        }
        if std::mem::replace(&mut self.seen[pgno as usize], true) {
            return Err(format!("page {pgno} is linked twice"));
        }
        self.file
            .read_exact_at(&mut self.page, pgno * size as u64)
            .map_err(|e| format!("page {pgno}: {e}"))?;
        let p = &self.page;
        let here = |what: String| format!("page {pgno}: {what}");
        if u64_at(p, 0) != pgno {
            return Err(here(format!("it says it is page {}", u64_at(p, 0))));
        }
        let flags = u16_at(p, 10);
        let kind = flags & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | 0x20 | 0x40);
        let branch = match kind {
            P_BRANCH if !leaf_level => true,
            P_LEAF if leaf_level => false,
            _ => return Err(here(format!("unexpected page flags {flags:#06x}"))),
        };
        let (lower, upper) = (u16_at(p, 12) as usize, u16_at(p, 14) as usize);
        if lower < PAGE_HEADER + 2 || lower % 2 != 0 || lower > upper || upper > size {
            return Err(here(format!(
                "free-space bounds {lower}..{upper} are impossible"
            )));
        }
        let keys = (lower - PAGE_HEADER) / 2;
        // LMDB asserts (aborts) on a branch page of the main database with one key.
        if branch && keys < 2 {
            return Err(here(format!("a branch page with {keys} key")));
        }
        let mut children = Vec::new();
        for i in 0..keys {
            let at = u16_at(p, PAGE_HEADER + 2 * i) as usize;
            let node = |what: String| here(format!("node {i}: {what}"));
            if at < upper || at + NODE_HEADER > size {
                return Err(node(format!("offset {at} is outside {upper}..{size}")));
            }
            let (lo, hi) = (u16_at(p, at) as u64, u16_at(p, at + 2) as u64);
            let nflags = u16_at(p, at + 4);
            let key_end = at + NODE_HEADER + u16_at(p, at + 6) as usize;
            if key_end > size {
                return Err(node("its key runs past the page".into()));
            }
            if branch {
                children.push(lo | hi << 16 | (nflags as u64) << 32);
                continue;
            }
            let data = (lo | hi << 16) as usize;
            if nflags & !F_BIGDATA != 0 {
                return Err(node(format!(
                    "flags {nflags:#x} (sub-databases or duplicates) are not Caffe's"
                )));
            }
            if nflags & F_BIGDATA == 0 {
                if key_end + data > size {
                    return Err(node(format!("its {data}-byte value runs past the page")));
                }
                continue;
            }
            if key_end + 8 > size {
                return Err(node("its overflow page number runs past the page".into()));
            }
            let first = u64_at(p, key_end);
            self.overflow(first, data).map_err(node)?;
        }
        Ok(children)
    }

    /// Checks that the run of overflow pages at `first` exists and holds `data` bytes.
    fn overflow(&self, first: u64, data: usize) -> Result<(), String> {
        let mut head = [0u8; PAGE_HEADER];
        if first < 2 || first >= self.meta.pages {
            return Err(format!(
                "overflow page {first} is outside 2..{}",
                self.meta.pages
            ));
        }
        self.file
            .read_exact_at(&mut head, first * self.meta.page_size as u64)
            .map_err(|e| format!("overflow page {first}: {e}"))?;
        let count = u32_at(&head, 12) as u64;
        let room = (count * self.meta.page_size as u64).saturating_sub(PAGE_HEADER as u64);
        if u64_at(&head, 0) != first
            || u16_at(&head, 10) & P_OVERFLOW == 0
            || first + count > self.meta.pages
            || room < data as u64
        {
            return Err(format!(
                "overflow page {first} ({count} pages) cannot hold its {data}-byte value"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::feed::lmdb::Writer;

    fn sample(dir: &Path, records: usize, value: usize) -> std::path::PathBuf {
        let db = dir.join("db");
        let mut w = Writer::create(&db).unwrap();
        for i in 0..records {
            w.put(format!("{i:08}"), vec![i as u8; value]).unwrap();
        }
        w.finish().unwrap();
        db.join("data.mdb")
    }

    #[test]
    fn accepts_whole_databases_and_refuses_truncated_or_flipped_ones() {
        let dir = std::env::temp_dir().join(format!("caffers-lmdb-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Small values live in leaf pages, large ones in overflow pages.
        for (records, value) in [(3000, 100), (40, 9000)] {
            let mdb = sample(&dir, records, value);
            check(&mdb).unwrap();
            let whole = std::fs::read(&mdb).unwrap();
            for cut in [100, 4096 + 50, whole.len() / 2, whole.len() - 1] {
                std::fs::write(&mdb, &whole[..cut]).unwrap();
                let e = check(&mdb).unwrap_err();
                assert!(e.contains("is not a usable LMDB"), "{e}");
            }
            let mut flipped = whole.clone();
            flipped[16] ^= 0xff;
            std::fs::write(&mdb, &flipped).unwrap();
            assert!(check(&mdb).unwrap_err().contains("wrong magic"));
            std::fs::write(&mdb, &whole).unwrap();
            let file = File::open(&mdb).unwrap();
            let m0 = read_meta(&file, 0, whole.len() as u64, None).unwrap();
            let m1 = read_meta(&file, 1, whole.len() as u64, Some(4096)).unwrap();
            let root = if m0.txnid < m1.txnid {
                m1.root
            } else {
                m0.root
            } as usize;
            // Its number, its flags, its lower and its upper bound.
            for (byte, value) in [(0, 0x77), (10, 0x04), (12, 0x01), (15, 0xff)] {
                let mut broken = whole.clone();
                broken[root * 4096 + byte] = value;
                std::fs::write(&mdb, &broken).unwrap();
                let e = check(&mdb).unwrap_err();
                assert!(e.contains(&format!("page {root}")), "byte {byte}: {e}");
            }
            std::fs::remove_dir_all(dir.join("db")).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
