//! Fuzzes the BlobProto reader (mean files, weights' blobs) on arbitrary bytes.
#![no_main]

use caffers::io::blob_proto::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
});
