//! Fuzzes the .caffemodel reader on arbitrary bytes: refused or read, never a
//! panic or an allocation the bytes do not justify.
#![no_main]

use caffers::io::caffemodel::parse_caffemodel;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_caffemodel("fuzz.caffemodel", data);
});
