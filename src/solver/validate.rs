//! Checks a SolverParameter once, before anything runs, with Caffe's rules.

use crate::error::did_you_mean;
use crate::proto::SolverParameter;

/// The solver types Caffe registers.
pub const SOLVER_TYPES: &[&str] = &["SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"];

/// The learning-rate policies of Caffe's SGDSolver::GetLearningRate.
pub const LR_POLICIES: &[&str] = &[
    "fixed",
    "step",
    "exp",
    "inv",
    "multistep",
    "poly",
    "sigmoid",
];

fn unknown(what: &str, value: &str, known: &[&str]) -> String {
    let hint = did_you_mean(value, known.iter().copied())
        .map(|s| format!(" — did you mean `{s}`?"))
        .unwrap_or_else(|| format!(" (known: {})", known.join(", ")));
    format!("unknown {what} `{value}`{hint}")
}

/// Validates the settings a solver run depends on.
pub fn validate(s: &SolverParameter) -> Result<(), String> {
    let ty = s.r#type();
    if !SOLVER_TYPES.contains(&ty) {
        return Err(unknown("solver type", ty, SOLVER_TYPES));
    }
    let policy = s.lr_policy();
    if policy.is_empty() {
        return Err(format!(
            "lr_policy is not set (one of {})",
            LR_POLICIES.join(", ")
        ));
    }
    if !LR_POLICIES.contains(&policy) {
        return Err(unknown("lr_policy", policy, LR_POLICIES));
    }
    if matches!(policy, "step" | "sigmoid") && s.stepsize() <= 0 {
        return Err(format!("lr_policy `{policy}` needs stepsize > 0"));
    }
    if policy == "poly" && s.max_iter() <= 0 {
        return Err("lr_policy `poly` needs max_iter > 0".into());
    }
    if s.stepvalue.windows(2).any(|w| w[1] < w[0]) {
        return Err("stepvalue must be increasing".into());
    }
    let reg = s.regularization_type();
    if reg != "L1" && reg != "L2" {
        return Err(unknown("regularization_type", reg, &["L1", "L2"]));
    }
    if matches!(ty, "AdaGrad" | "RMSProp") && s.momentum() != 0.0 {
        return Err(format!(
            "momentum must be 0 for {ty} (it is {})",
            s.momentum()
        ));
    }
    if ty == "RMSProp" && !(0.0..=1.0).contains(&s.rms_decay()) {
        return Err("rms_decay must be between 0 and 1".into());
    }
    if s.iter_size() < 1 {
        return Err("iter_size must be at least 1".into());
    }
    if s.average_loss() < 1 {
        return Err("average_loss must be at least 1".into());
    }
    if s.test_iter.iter().any(|&n| n <= 0) {
        return Err("test_iter values must be positive".into());
    }
    if s.max_iter() < 0 {
        return Err("max_iter must not be negative".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catches_misspelled_policy_and_type() {
        let s = SolverParameter {
            lr_policy: Some("stpe".into()),
            stepsize: Some(10),
            ..Default::default()
        };
        assert_eq!(
            validate(&s).unwrap_err(),
            "unknown lr_policy `stpe` — did you mean `step`?"
        );
        let s = SolverParameter {
            lr_policy: Some("fixed".into()),
            r#type: Some("Adamm".into()),
            ..Default::default()
        };
        assert!(validate(&s).unwrap_err().contains("did you mean `Adam`?"));
    }
}
