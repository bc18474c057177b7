//! Caffe's `debug_info` lines (Net::ForwardDebugInfo, BackwardDebugInfo and
//! UpdateDebugInfo): per layer, the mean absolute value (asum / count) of every top's
//! data, bottom's diff and parameter's data and diff, so a run that drifts towards
//! overflow shows where.

use super::run::Net;

/// asum / count, Caffe's "data:" and "diff:" figure (0 for an empty blob).
pub fn mean_abs(values: &[f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let sum: f64 = values.iter().map(|v| v.abs() as f64).sum();
    (sum / values.len() as f64) as f32
}

/// A parameter's display name: its ParamSpec name, or its index within the layer.
fn param_display_name(net: &Net, layer: usize, k: usize) -> String {
    match net.graph.layers[layer].param.param.get(k).map(|s| s.name()) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => k.to_string(),
    }
}

/// The lines after layer `i` ran forward: each top's data, then each parameter's data.
pub fn forward_lines(net: &Net, i: usize) -> Vec<String> {
    let node = &net.graph.layers[i];
    let mut lines = Vec::new();
    for &s in &node.top_slots {
        let blob = &net.graph.blobs[net.graph.slots[s].blob].name;
        lines.push(format!(
            "    [Forward] Layer {}, top blob {blob} data: {}",
            node.name(),
            mean_abs(&net.slots[s].data)
        ));
    }
    for (k, &p) in net.layer_params[i].iter().enumerate() {
        lines.push(format!(
            "    [Forward] Layer {}, param blob {} data: {}",
            node.name(),
            param_display_name(net, i, k),
            mean_abs(&net.params[p].data)
        ));
    }
    lines
}

/// The lines after layer `i` ran backward: each bottom's diff it computed, then each
/// learned parameter's diff.
pub fn backward_lines(net: &Net, i: usize) -> Vec<String> {
    let node = &net.graph.layers[i];
    let mut lines = Vec::new();
    for (j, &s) in node.bottom_slots.iter().enumerate() {
        if !net.bottom_need_backward[i][j] {
            continue;
        }
        let blob = &net.graph.blobs[net.graph.slots[s].blob].name;
        lines.push(format!(
            "    [Backward] Layer {}, bottom blob {blob} diff: {}",
            node.name(),
            mean_abs(&net.slots[s].diff)
        ));
    }
    for (k, &p) in net.layer_params[i].iter().enumerate() {
        if !net.param_need_backward[i].get(k).copied().unwrap_or(false) {
            continue;
        }
        lines.push(format!(
            "    [Backward] Layer {}, param blob {k} diff: {}",
            node.name(),
            mean_abs(&net.params[p].diff)
        ));
    }
    lines
}

/// The lines after an update: each parameter's new data and the step it took (the
/// diff the solver subtracted), named by the layer that owns it.
pub fn update_lines(net: &Net) -> Vec<String> {
    net.params
        .iter()
        .zip(&net.param_info)
        .map(|(blob, info)| {
            format!(
                "    [Update] Layer {}, param {} data: {}; diff: {}",
                net.graph.layers[info.owner].name(),
                param_display_name(net, info.owner, info.owner_index),
                mean_abs(&blob.data),
                mean_abs(&blob.diff)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_abs_is_asum_over_count() {
        assert_eq!(mean_abs(&[1.0, -3.0, 0.0, 2.0]), 1.5);
        assert_eq!(mean_abs(&[]), 0.0);
        assert!(mean_abs(&[1.0, f32::NAN]).is_nan());
    }
}
