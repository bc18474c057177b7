//! Random values for a net's inputs, for timing and smoke-running a net without
//! data (`caffers time`, the reference-file tests).

use super::run::Net;
use crate::rng::Rng;

/// Fills the net's source blobs with random values: labels (named `label*`, or a
/// data layer's second top) with 0, everything else N(0, 1).
pub fn fill_random_inputs(net: &mut Net, seed: u64) {
    let mut rng = Rng::new(seed);
    let sources: Vec<(Vec<String>, bool)> = net
        .graph
        .layers
        .iter()
        .filter(|n| n.bottoms.is_empty() && n.layer.is_source())
        .map(|n| (n.param.top.clone(), n.type_name() != "Input"))
        .collect();
    for (tops, is_data_layer) in sources {
        for (k, name) in tops.iter().enumerate() {
            let s = net.data_slot(name).expect("source tops are blobs");
            let label = name.starts_with("label") || (is_data_layer && k > 0);
            let blob = &mut net.slots[s];
            if label {
                blob.data.iter_mut().for_each(|v| *v = 0.0);
            } else {
                blob.data
                    .iter_mut()
                    .for_each(|v| *v = rng.gaussian(0.0, 1.0));
            }
        }
    }
}
