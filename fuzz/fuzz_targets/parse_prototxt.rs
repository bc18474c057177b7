//! Fuzzes the whole front end on arbitrary bytes: text check, grammar, tree, the
//! typed schema (net and solver), the legacy upgrades, printing back, and building
//! the graph. Any input may be refused with an error; none may panic or hang.
#![no_main]

use caffers::layers::BuildContext;
use caffers::load::{net_from_source, solver_from_source, text_from_bytes};
use caffers::net::{build, net_state};
use caffers::proto::Phase;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = text_from_bytes("fuzz.prototxt", data.to_vec()) else {
        return;
    };
    let _ = solver_from_source(&src);
    let Ok(loaded) = net_from_source(&src) else {
        return;
    };
    // What the schema holds prints to text that parses back to the same net.
    let printed = caffers::text::to_prototxt(&loaded.net);
    let again = caffers::error::SourceFile::new("printed.prototxt", printed);
    match net_from_source(&again) {
        Ok(back) => {
            // NaN never equals itself; compare only nets without it.
            if !again.text.contains("nan") {
                assert_eq!(back.net, loaded.net, "print/parse round trip changed the net");
            }
        }
        Err(e) => panic!("printed net does not parse back: {e}\n{}", again.text),
    }
    let ctx = BuildContext {
        external_data: true,
        ..Default::default()
    };
    for phase in [Phase::Train, Phase::Test] {
        let state = net_state(&loaded.net, phase, None, &[]);
        let _ = build(&loaded.net, &state, &loaded.source, &ctx);
    }
});
