//! Fuzzes CIFAR-10's archive reader: the input is taken as a tar stream and
//! gzip-compressed here, so the fuzzer controls the entries and their sizes.
#![no_main]

use std::io::Write;

use caffers::data::tools::cifar10::read_archive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path =
        std::env::temp_dir().join(format!("caffers-fuzz-cifar-{}.tar.gz", std::process::id()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let _ = read_archive(&path, None);
    let _ = read_archive(&path, Some(2));
});
