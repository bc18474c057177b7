//! Stopping a diverged run. Each iteration checks what is cheap and sufficient — the
//! loss (a scalar), the parameter gradients before the update and the parameters
//! after it (a pass over the weights, small next to forward and backward) — and only
//! when one is NaN or infinite walks the net to name the first layer that went bad.
//! Stopping before the next snapshot keeps non-finite weights out of every file.

use std::path::Path;

use crate::error::{Error, Result};
use crate::net::non_finite::{first_non_finite, has_non_finite};
use crate::net::Net;

/// -ln(FLT_MIN): the loss SoftmaxWithLoss and MultinomialLogisticLoss report for a
/// sample whose true class got probability 0 (they clamp the probability to FLT_MIN
/// before the log). A batch mean of exactly this means every prediction gave its true
/// class nothing: the mark of a diverged net, typically a learning rate too high.
pub const CLAMPED_LOSS: f32 = 87.33654;

/// The loss layers that clamp a probability to FLT_MIN.
const CLAMPING_LOSSES: [&str; 2] = ["SoftmaxWithLoss", "MultinomialLogisticLoss"];

/// What the clamped loss means, when `loss` is it and the net has a clamping loss layer.
pub fn clamped_loss_note(net: &Net, loss: f32) -> Option<String> {
    // The loss first: healthy iterations, which call this every time, never scan
    // the layers.
    let clamped = (loss - CLAMPED_LOSS).abs() < 1e-3
        && net
            .graph
            .layers
            .iter()
            .any(|l| CLAMPING_LOSSES.contains(&l.type_name()));
    clamped.then(|| {
        format!(
            "loss = {loss} is -log(FLT_MIN), the loss layer's clamp of a probability that underflowed to 0: the net predicts 0 for the true class of every sample — a sign of divergence, typically a learning rate too high"
        )
    })
}

/// What the loss meant, where the last good weights are, and what to change, for the
/// end of a divergence message.
fn advice(net: &Net, loss: f32, base_lr: f32, last_snapshot: Option<&Path>) -> String {
    let note = clamped_loss_note(net, loss)
        .map(|n| format!("the {n}; "))
        .unwrap_or_default();
    let kept = match last_snapshot {
        Some(p) => format!("the last good snapshot is {}", p.display()),
        None => "no snapshot was written before it".to_string(),
    };
    format!("{note}no snapshot holds these values ({kept}); lower base_lr (it is {base_lr}) or set clip_gradients")
}

fn diverged(net: &Net, message: String) -> Error {
    Error::Net {
        net: net.graph.name.clone(),
        message,
    }
}

/// Before the update: the loss and every parameter gradient must be finite.
pub fn check_gradients(
    net: &Net,
    iter: i32,
    loss: f32,
    base_lr: f32,
    last_snapshot: Option<&Path>,
) -> Result<()> {
    let bad_gradient = net.params.iter().any(|p| has_non_finite(&p.diff));
    if loss.is_finite() && !bad_gradient {
        return Ok(());
    }
    let what = if loss.is_finite() {
        "a parameter gradient is not finite".to_string()
    } else {
        format!("the loss is {loss}")
    };
    let place = first_non_finite(net)
        .map(|p| format!("the first non-finite value is in {p}"))
        .unwrap_or_else(|| "no layer's values are non-finite, only their sum".into());
    Err(diverged(
        net,
        format!(
            "training diverged at iteration {iter}: {what}; {place}; {}",
            advice(net, loss, base_lr, last_snapshot)
        ),
    ))
}

/// After the update: every parameter must still be finite (a finite gradient times a
/// huge rate can overflow).
pub fn check_weights(
    net: &Net,
    iter: i32,
    loss: f32,
    base_lr: f32,
    last_snapshot: Option<&Path>,
) -> Result<()> {
    let Some(p) = net.params.iter().position(|p| has_non_finite(&p.data)) else {
        return Ok(());
    };
    let info = &net.param_info[p];
    let layer = &net.graph.layers[info.owner];
    Err(diverged(
        net,
        format!(
            "training diverged at iteration {iter}: the update made parameter {} of layer `{}` ({}) non-finite (learning rate × gradient overflowed); {}",
            info.owner_index,
            layer.name(),
            layer.type_name(),
            advice(net, loss, base_lr, last_snapshot)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use crate::net::NetOptions;
    use crate::proto::{NetState, Phase};

    /// x → conv → ip → `loss_type` against labels, in the training phase.
    fn small_net(loss_type: &str) -> Net {
        let text = format!(
            r#"layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: 2 dim: 1 dim: 4 dim: 4 }} }} }}
            layer {{ name: "t" type: "Input" top: "t" input_param {{ shape {{ dim: 2 }} }} }}
            layer {{ name: "conv" type: "Convolution" bottom: "x" top: "c"
                    convolution_param {{ num_output: 2 kernel_size: 3 weight_filler {{ type: "gaussian" std: 0.5 }} }} }}
            layer {{ name: "ip" type: "InnerProduct" bottom: "c" top: "y"
                    inner_product_param {{ num_output: 3 weight_filler {{ type: "gaussian" std: 0.5 }} }} }}
            layer {{ name: "loss" type: "{loss_type}" bottom: "y" bottom: "t" top: "l" }}"#
        );
        let loaded = crate::load::net_from_source(&SourceFile::new("t", text)).unwrap();
        let state = NetState {
            phase: Some(Phase::Train),
            ..Default::default()
        };
        let mut net = Net::from_loaded(&loaded, &state, &NetOptions::default()).unwrap();
        net.set_input("t", &[0.0, 2.0]).unwrap();
        net
    }

    fn run(net: &mut Net, x: &[f32]) -> f32 {
        net.set_input("x", x).unwrap();
        net.clear_param_diffs();
        let loss = net.forward().unwrap();
        net.backward().unwrap();
        loss
    }

    #[test]
    fn clamped_loss_is_minus_log_flt_min() {
        assert!((-(f32::MIN_POSITIVE as f64).ln() as f32 - CLAMPED_LOSS).abs() < 1e-4);
    }

    #[test]
    fn the_clamped_loss_is_explained_for_clamping_losses_only() {
        let softmax = small_net("SoftmaxWithLoss");
        assert!(clamped_loss_note(&softmax, 87.3365)
            .unwrap()
            .contains("-log(FLT_MIN)"));
        assert!(clamped_loss_note(&softmax, 87.3).is_none());
        assert!(clamped_loss_note(&softmax, 2.3).is_none());
        let logistic = small_net("MultinomialLogisticLoss");
        assert!(clamped_loss_note(&logistic, 87.3365).is_some());
    }

    #[test]
    fn a_finite_pass_passes_and_a_nan_input_names_the_first_layer() {
        let mut net = small_net("SoftmaxWithLoss");
        let loss = run(&mut net, &[0.25; 32]);
        check_gradients(&net, 4, loss, 0.01, None).unwrap();
        check_weights(&net, 4, loss, 0.01, None).unwrap();

        let mut x = [0.25; 32];
        x[1] = f32::NAN;
        x[17] = f32::NAN;
        let loss = run(&mut net, &x);
        let e = check_gradients(&net, 7, loss, 0.01, Some(Path::new("s_iter_5.caffemodel")))
            .unwrap_err()
            .to_string();
        // SoftmaxWithLoss clamps the NaN probabilities to FLT_MIN: a finite loss of
        // -log(FLT_MIN), but NaN gradients.
        assert!(
            e.contains("diverged at iteration 7: a parameter gradient is not finite"),
            "{e}"
        );
        assert!(
            e.contains("the first non-finite value is in layer `x` (Input): top blob `x` data"),
            "{e}"
        );
        assert!(e.contains("loss = 87.33"), "{e}");
        assert!(
            e.contains("the last good snapshot is s_iter_5.caffemodel"),
            "{e}"
        );

        // A poisoned weight is named before the outputs it spoils.
        net.params[0].data[1] = f32::NAN;
        let loss = run(&mut net, &[0.25; 32]);
        let e = check_gradients(&net, 8, loss, 0.01, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("layer `conv` (Convolution): parameter 0 data"),
            "{e}"
        );
    }

    #[test]
    fn an_infinite_gradient_with_a_finite_loss_is_caught() {
        let mut net = small_net("SoftmaxWithLoss");
        let loss = run(&mut net, &[0.25; 32]);
        let last = net.params.len() - 1;
        net.params[last].diff[0] = f32::INFINITY;
        let e = check_gradients(&net, 0, loss, 0.01, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a parameter gradient is not finite"), "{e}");
        assert!(
            e.contains("layer `ip` (InnerProduct): parameter 1 diff"),
            "{e}"
        );
        assert!(e.contains("no snapshot was written before it"), "{e}");
    }

    #[test]
    fn an_overflowing_update_names_the_parameter() {
        let mut net = small_net("SoftmaxWithLoss");
        let loss = run(&mut net, &[0.25; 32]);
        net.params[0].data[3] = f32::NEG_INFINITY;
        let e = check_weights(&net, 9, loss, 1e30, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "iteration 9: the update made parameter 0 of layer `conv` (Convolution) non-finite"
            ),
            "{e}"
        );
    }
}
