//! Fuzzes MNIST's IDX reader: the input, gzip-compressed here so the fuzzer
//! controls the decompressed header and counts, is read as an image file and as a
//! label file.
#![no_main]

use std::io::Write;

use caffers::data::tools::mnist::read_idx_gz;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("caffers-fuzz-idx-{}.gz", std::process::id()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    for magic in [2051, 2049] {
        let _ = read_idx_gz(&path, magic, None);
        let _ = read_idx_gz(&path, magic, Some(3));
    }
});
