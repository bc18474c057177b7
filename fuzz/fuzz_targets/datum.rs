//! Fuzzes the Datum decoder (an LMDB record's value) and the image it yields, in
//! each colour mode.
#![no_main]

use caffers::data::feed::datum::Datum;
use caffers::data::feed::image::ColorMode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(datum) = Datum::parse(data, "00000000") else {
        return;
    };
    for mode in [ColorMode::Native, ColorMode::Color, ColorMode::Gray] {
        let _ = datum.to_image(mode);
    }
});
