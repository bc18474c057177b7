//! Finding where a net's numbers stopped being finite (NaN or ±inf): the first
//! layer, in the order the values were computed, whose parameters, outputs or
//! gradients hold one. Used after the fact, when a cheap check (the loss, the
//! parameter sums) has already seen a non-finite value, so the scan costs nothing
//! on healthy iterations.

use super::run::Net;

/// True when some value is NaN or infinite (exponent bits all ones). One OR over the
/// whole slice with no early exit, so the compiler vectorises it.
pub fn has_non_finite(values: &[f32]) -> bool {
    const EXPONENT: u32 = 0x7f80_0000;
    values
        .iter()
        .fold(false, |bad, v| bad | (v.to_bits() & EXPONENT == EXPONENT))
}

/// Where the first non-finite value is, as "layer `conv1` (Convolution): top blob
/// `conv1` data", walking forward (each layer's parameters, then its tops), then
/// backward (each layer's bottom gradients, then its parameter gradients); None when
/// every value is finite.
pub fn first_non_finite(net: &Net) -> Option<String> {
    let layers = &net.graph.layers;
    let at = |i: usize, what: String| {
        format!(
            "layer `{}` ({}): {what}",
            layers[i].name(),
            layers[i].type_name()
        )
    };
    let blob_name = |s: usize| &net.graph.blobs[net.graph.slots[s].blob].name;
    for (i, node) in layers.iter().enumerate() {
        for (k, &p) in net.layer_params[i].iter().enumerate() {
            if has_non_finite(&net.params[p].data) {
                return Some(at(i, format!("parameter {k} data")));
            }
        }
        for &s in &node.top_slots {
            if has_non_finite(&net.slots[s].data) {
                return Some(at(i, format!("top blob `{}` data", blob_name(s))));
            }
        }
    }
    for (i, node) in layers.iter().enumerate().rev() {
        if !net.layer_need_backward[i] {
            continue;
        }
        for (j, &s) in node.bottom_slots.iter().enumerate() {
            if net.bottom_need_backward[i][j] && has_non_finite(&net.slots[s].diff) {
                return Some(at(i, format!("bottom blob `{}` diff", blob_name(s))));
            }
        }
        for (k, &p) in net.layer_params[i].iter().enumerate() {
            if has_non_finite(&net.params[p].diff) {
                return Some(at(i, format!("parameter {k} diff")));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nan_inf_and_overflowing_sums() {
        assert!(!has_non_finite(&[1.0, -2.0, 3e38, 3e38]));
        assert!(has_non_finite(&[1.0, f32::NAN]));
        assert!(has_non_finite(&[f32::NEG_INFINITY, 0.0]));
        assert!(has_non_finite(&[f32::INFINITY, f32::NEG_INFINITY]));
        assert!(!has_non_finite(&[]));
    }
}
