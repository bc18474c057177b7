//! NumPy `.npy` arrays and `.npz` archives (the fixtures' format, and what
//! `caffers forward --dump` writes). Arrays are read as f32; float64 and integer
//! arrays are converted.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use super::atomic::write_atomically_with;
use crate::error::{Error, Result};

/// An array read from or written to NumPy files.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

fn bad(name: &str, why: impl Into<String>) -> Error {
    Error::file(name, format!("not a valid .npy array: {}", why.into()))
}

/// The value of `'key': …` in a .npy header dict.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Parses one .npy file's bytes.
pub fn parse_npy(name: &str, bytes: &[u8]) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(name, "missing the \\x93NUMPY magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(name, format!("unsupported version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad(name, "truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad(name, "header is not text"))?;
    let descr = header_value(header, "descr")
        .ok_or_else(|| bad(name, "no descr"))?
        .trim_matches('\'');
    if header_value(header, "fortran_order") == Some("True") {
        return Err(bad(name, "Fortran-ordered arrays are not supported"));
    }
    let shape_text = header_value(header, "shape").ok_or_else(|| bad(name, "no shape"))?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(name, format!("bad shape {shape_text}")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let n: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    let take = |size: usize| -> Result<&[u8]> {
        body.get(..n * size).ok_or_else(|| {
            bad(
                name,
                format!("holds {} bytes for {n} values of {size} bytes", body.len()),
            )
        })
    };
    let data: Vec<f32> = match descr {
        "<f4" => take(4)?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        "<f8" => take(8)?
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        "<i4" => take(4)?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        "<i8" => take(8)?
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        "|u1" => take(1)?.iter().map(|&b| b as f32).collect(),
        other => return Err(bad(name, format!("unsupported dtype {other}"))),
    };
    Ok(Array { shape, data })
}

/// The bytes of a little-endian float32 .npy file.
pub fn npy_bytes(array: &Array) -> Vec<u8> {
    let dims: Vec<String> = array.shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so the data starts on a 64-byte boundary, ending the header with '\n'.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + array.data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &array.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Reads a .npy file.
pub fn read_npy(path: &Path) -> Result<Array> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_npy(&path.display().to_string(), &bytes)
}

/// Reads every array of a .npz archive, keyed by name without `.npy`.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, Array>> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| Error::file(&name, format!("not a valid .npz archive: {e}")))?;
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| Error::file(&name, format!("unreadable entry {i}: {e}")))?;
        let key = entry.name().trim_end_matches(".npy").to_string();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| Error::file(&name, format!("entry `{key}`: {e}")))?;
        let array = parse_npy(&format!("{name}:{key}"), &bytes)?;
        out.insert(key, array);
    }
    Ok(out)
}

/// Writes arrays to a .npz archive (uncompressed, as numpy.savez), atomically.
pub fn write_npz(path: &Path, arrays: &BTreeMap<String, Array>) -> Result<()> {
    write_atomically_with(path, |file, tmp| {
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        let zip_error = |e: zip::result::ZipError| match e {
            zip::result::ZipError::Io(e) => Error::io_write(tmp, e),
            e => Error::file(tmp.display().to_string(), e.to_string()),
        };
        for (key, array) in arrays {
            zip.start_file(format!("{key}.npy"), options)
                .map_err(zip_error)?;
            zip.write_all(&npy_bytes(array))
                .map_err(|e| Error::io_write(tmp, e))?;
        }
        zip.finish().map_err(zip_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let a = Array {
            shape: vec![2, 3],
            data: vec![1.0, -2.5, 3.0, 0.0, 1e-8, f32::MAX],
        };
        let bytes = npy_bytes(&a);
        assert_eq!((bytes.len() - a.data.len() * 4) % 64, 0);
        assert_eq!(parse_npy("t", &bytes).unwrap(), a);
        let s = Array {
            shape: vec![4],
            data: vec![1.0; 4],
        };
        assert_eq!(parse_npy("t", &npy_bytes(&s)).unwrap(), s);
        assert!(parse_npy("t", b"garbage").is_err());
    }

    #[test]
    fn npz_round_trip() {
        let dir = std::env::temp_dir().join(format!("caffers-npz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npz");
        let mut m = BTreeMap::new();
        m.insert(
            "data.x".to_string(),
            Array {
                shape: vec![2],
                data: vec![1.0, 2.0],
            },
        );
        write_npz(&path, &m).unwrap();
        assert_eq!(read_npz(&path).unwrap(), m);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
