//! Layer type name → candle op: the one table of what the candle engine runs.
//! Types the host runs instead (data sources, whose tops are uploaded) are
//! listed separately; every other type in `layers::KNOWN_TYPES` has no candle
//! path yet (the README lists them, and a test keeps the two lists equal).

use super::ops::{self, Op};

/// Every layer type with a candle path, and its op.
const OPS: &[(&str, Op)] = &[
    ("Convolution", ops::convolution::convolution),
    ("Deconvolution", ops::convolution::deconvolution),
    ("Pooling", ops::pooling::pooling),
    ("Median", ops::median::median),
    ("InnerProduct", ops::inner_product::inner_product),
    ("LRN", ops::lrn::lrn),
    ("ReLU", ops::neurons::relu),
    ("PReLU", ops::neurons::prelu),
    ("ELU", ops::neurons::elu),
    ("Sigmoid", ops::neurons::sigmoid),
    ("TanH", ops::neurons::tanh),
    ("AbsVal", ops::neurons::absval),
    ("BNLL", ops::neurons::bnll),
    ("Power", ops::neurons::power),
    ("Exp", ops::neurons::exp),
    ("Log", ops::neurons::log),
    ("Threshold", ops::neurons::threshold),
    ("Clip", ops::neurons::clip),
    ("Swish", ops::neurons::swish),
    ("Dropout", ops::neurons::dropout),
    ("BatchNorm", ops::batch_norm::batch_norm),
    ("Scale", ops::scale_bias::scale),
    ("Bias", ops::scale_bias::bias),
    ("MVN", ops::mvn::mvn),
    ("Softmax", ops::softmax::softmax),
    ("SoftmaxWithLoss", ops::losses::softmax_loss),
    ("EuclideanLoss", ops::losses::euclidean_loss),
    ("SigmoidCrossEntropyLoss", ops::losses::sigmoid_ce_loss),
    ("HingeLoss", ops::losses::hinge_loss),
    ("Accuracy", ops::accuracy::accuracy),
    ("ArgMax", ops::accuracy::argmax),
    ("Eltwise", ops::eltwise::eltwise),
    ("Concat", ops::shapes::concat),
    ("Slice", ops::shapes::slice),
    ("Split", ops::shapes::split),
    ("Flatten", ops::shapes::reshape),
    ("Reshape", ops::shapes::reshape),
    ("Crop", ops::shapes::crop),
    ("Tile", ops::shapes::tile),
    ("Reduction", ops::shapes::reduction),
    (
        "MultinomialLogisticLoss",
        ops::losses::multinomial_logistic_loss,
    ),
    ("Embed", ops::lookup::embed),
    ("BatchReindex", ops::lookup::batch_reindex),
    ("Silence", ops::shapes::silence),
    ("Parameter", ops::shapes::parameter),
];

/// Layers without a data source that still fill their tops on the host.
const HOST_GENERATORS: &[&str] = &["Input", "MemoryData", "DummyData"];

/// Whether a layer type runs on the host with its tops uploaded: the sources of
/// a net (as Caffe's data layers fill host memory first).
pub fn runs_on_host(type_name: &str) -> bool {
    HOST_GENERATORS.contains(&type_name) || crate::layers::DATA_SOURCE_TYPES.contains(&type_name)
}

/// The candle op for a layer type.
pub fn op(type_name: &str) -> Option<Op> {
    OPS.iter().find(|(t, _)| *t == type_name).map(|&(_, op)| op)
}

/// Every type the candle engine runs on the device.
pub fn candle_types() -> Vec<&'static str> {
    OPS.iter().map(|&(t, _)| t).collect()
}

/// Known layer types the candle engine cannot run yet, in `KNOWN_TYPES` order.
pub fn missing_types() -> Vec<&'static str> {
    crate::layers::KNOWN_TYPES
        .iter()
        .copied()
        .filter(|t| op(t).is_none() && !runs_on_host(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_names_a_known_type_once() {
        let types = candle_types();
        for t in &types {
            assert!(
                crate::layers::KNOWN_TYPES.contains(t),
                "{t} is not a layer type"
            );
            assert_eq!(types.iter().filter(|x| *x == t).count(), 1, "{t} twice");
            assert!(!runs_on_host(t), "{t} is both a device op and a host layer");
        }
    }
}
