//! Fuzzes the .solverstate reader on arbitrary bytes.
#![no_main]

use caffers::io::solverstate::parse_solverstate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_solverstate("fuzz.solverstate", data);
});
