//! Checks a SolverParameter once, before anything runs, with Caffe's rules, and
//! parses the settings the iterations branch on (type, lr_policy,
//! regularization_type) into enums.

use super::lr_policy::LrPolicy;
use super::update::{Regularization, Rule};
use crate::error::{did_you_mean, shown};
use crate::proto::SolverParameter;

/// What a valid solver's named settings parsed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SolverRules {
    pub update: Rule,
    pub lr_policy: LrPolicy,
    pub regularization: Regularization,
}

/// Why a solver is refused, and the field at fault (so the error can point at it
/// in the solver file).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn unknown(field: &'static str, what: &str, value: &str, known: &[&str]) -> Invalid {
    let hint = did_you_mean(value, known.iter().copied())
        .map(|s| format!(" — did you mean `{s}`?"))
        .unwrap_or_else(|| format!(" (known: {})", known.join(", ")));
    invalid(field, format!("unknown {what} `{}`{hint}", shown(value)))
}

/// Validates the settings a solver run depends on, and returns them parsed.
pub fn validate(s: &SolverParameter) -> Result<SolverRules, Invalid> {
    let ty = s.r#type();
    let update = Rule::from_type(ty)
        .ok_or_else(|| unknown("type", "solver type", ty, &Rule::ALL.map(Rule::name)))?;
    let policy_names = LrPolicy::ALL.map(LrPolicy::name);
    let policy = s.lr_policy();
    if policy.is_empty() {
        return Err(invalid(
            "lr_policy",
            format!("lr_policy is not set (one of {})", policy_names.join(", ")),
        ));
    }
    let lr_policy = LrPolicy::from_name(policy)
        .ok_or_else(|| unknown("lr_policy", "lr_policy", policy, &policy_names))?;
    if matches!(lr_policy, LrPolicy::Step | LrPolicy::Sigmoid) && s.stepsize() <= 0 {
        return Err(invalid(
            "stepsize",
            format!("lr_policy `{policy}` needs stepsize > 0"),
        ));
    }
    if lr_policy == LrPolicy::Poly && s.max_iter() <= 0 {
        return Err(invalid("max_iter", "lr_policy `poly` needs max_iter > 0"));
    }
    if s.stepvalue.windows(2).any(|w| w[1] < w[0]) {
        return Err(invalid("stepvalue", "stepvalue must be increasing"));
    }
    let reg = s.regularization_type();
    let regularization = Regularization::from_name(reg).ok_or_else(|| {
        unknown(
            "regularization_type",
            "regularization_type",
            reg,
            &Regularization::ALL.map(Regularization::name),
        )
    })?;
    if matches!(update, Rule::AdaGrad | Rule::RmsProp) && s.momentum() != 0.0 {
        return Err(invalid(
            "momentum",
            format!("momentum must be 0 for {ty} (it is {})", s.momentum()),
        ));
    }
    if update == Rule::RmsProp && !(0.0..=1.0).contains(&s.rms_decay()) {
        return Err(invalid("rms_decay", "rms_decay must be between 0 and 1"));
    }
    if !(0.0..1.0).contains(&s.moving_average_decay()) {
        return Err(invalid(
            "moving_average_decay",
            format!(
                "moving_average_decay must be at least 0 and below 1 (it is {}); 0 turns it off",
                s.moving_average_decay()
            ),
        ));
    }
    if s.iter_size() < 1 {
        return Err(invalid("iter_size", "iter_size must be at least 1"));
    }
    if s.average_loss() < 1 {
        return Err(invalid("average_loss", "average_loss must be at least 1"));
    }
    if s.test_iter.iter().any(|&n| n <= 0) {
        return Err(invalid("test_iter", "test_iter values must be positive"));
    }
    for (name, value) in [
        ("max_iter", s.max_iter()),
        ("snapshot", s.snapshot()),
        ("test_interval", s.test_interval()),
        ("display", s.display()),
        ("stepsize", s.stepsize()),
    ] {
        if value < 0 {
            return Err(invalid(
                name,
                format!("{name} must not be negative (it is {value})"),
            ));
        }
    }
    if let Some(&v) = s.stepvalue.iter().find(|&&v| v < 0) {
        return Err(invalid(
            "stepvalue",
            format!("stepvalue must not be negative (one is {v})"),
        ));
    }
    // A NaN or infinite setting makes every weight non-finite on the first update.
    for (name, value) in [
        ("base_lr", s.base_lr()),
        ("gamma", s.gamma()),
        ("power", s.power()),
        ("momentum", s.momentum()),
        ("momentum2", s.momentum2()),
        ("weight_decay", s.weight_decay()),
        ("delta", s.delta()),
        ("rms_decay", s.rms_decay()),
        ("clip_gradients", s.clip_gradients()),
    ] {
        if !value.is_finite() {
            return Err(invalid(
                name,
                format!("{name} must be a finite number (it is {value})"),
            ));
        }
    }
    Ok(SolverRules {
        update,
        lr_policy,
        regularization,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> SolverParameter {
        SolverParameter {
            lr_policy: Some("fixed".into()),
            ..Default::default()
        }
    }

    #[test]
    fn refuses_negative_counts_and_non_finite_rates() {
        assert!(validate(&fixed()).is_ok());
        let cases: [(SolverParameter, &str); 6] = [
            (
                SolverParameter {
                    snapshot: Some(-5),
                    ..fixed()
                },
                "snapshot must not be negative (it is -5)",
            ),
            (
                SolverParameter {
                    max_iter: Some(-1),
                    ..fixed()
                },
                "max_iter must not be negative (it is -1)",
            ),
            (
                SolverParameter {
                    display: Some(-1),
                    ..fixed()
                },
                "display must not be negative",
            ),
            (
                SolverParameter {
                    test_interval: Some(i32::MIN),
                    ..fixed()
                },
                "test_interval must not be negative",
            ),
            (
                SolverParameter {
                    base_lr: Some(f32::NAN),
                    ..fixed()
                },
                "base_lr must be a finite number (it is NaN)",
            ),
            (
                SolverParameter {
                    momentum: Some(f32::INFINITY),
                    ..fixed()
                },
                "momentum must be a finite number (it is inf)",
            ),
        ];
        for (s, want) in cases {
            let e = validate(&s).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn catches_misspelled_policy_and_type() {
        let s = SolverParameter {
            lr_policy: Some("stpe".into()),
            stepsize: Some(10),
            ..Default::default()
        };
        assert_eq!(
            validate(&s).unwrap_err().to_string(),
            "unknown lr_policy `stpe` — did you mean `step`?"
        );
        let s = SolverParameter {
            lr_policy: Some("fixed".into()),
            r#type: Some("Adamm".into()),
            ..Default::default()
        };
        assert!(validate(&s)
            .unwrap_err()
            .message
            .contains("did you mean `Adam`?"));
    }

    #[test]
    fn names_parse_into_the_rules() {
        let s = SolverParameter {
            lr_policy: Some("multistep".into()),
            r#type: Some("Nesterov".into()),
            regularization_type: Some("L1".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&s),
            Ok(SolverRules {
                update: Rule::Nesterov,
                lr_policy: LrPolicy::Multistep,
                regularization: Regularization::L1,
            })
        );
        let s = SolverParameter {
            lr_policy: Some("fixed".into()),
            regularization_type: Some("L3".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&s).unwrap_err().to_string(),
            "unknown regularization_type `L3` — did you mean `L1`?"
        );
    }
}
