//! Fuzzes building nets with given input shapes, as `caffers check --input-shape`
//! does: the first line holds `top=d0,d1,…` shapes (parsed by the command line's
//! own parser), the rest is net prototxt. Shape inference must refuse absurd sizes
//! with an error, never overflow, panic or allocate them.
#![no_main]

use std::collections::HashMap;

use caffers::check::check_net;
use caffers::cli::args::parse_input_shape;
use caffers::load::{net_from_source, text_from_bytes};
use caffers::proto::{NetState, Phase};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (first, rest) = data.split_at(split);
    let shapes: HashMap<_, _> = String::from_utf8_lossy(first)
        .split_whitespace()
        .filter_map(|s| parse_input_shape(s).ok())
        .collect();
    let Ok(src) = text_from_bytes("fuzz.prototxt", rest.to_vec()) else {
        return;
    };
    let Ok(loaded) = net_from_source(&src) else {
        return;
    };
    let _ = check_net(
        &loaded,
        Some(&[Phase::Train, Phase::Test]),
        &NetState::default(),
        &shapes,
    );
});
