//! Caffe's FilterNet: which layers a net keeps for a given NetState (phase, level,
//! stages), by each layer's include/exclude rules. A pure NetParameter → NetParameter
//! function, as in Caffe.

use std::collections::BTreeSet;

use crate::proto::{LayerParameter, NetParameter, NetState, NetStateRule, Phase};

/// Whether `state` satisfies `rule` (Caffe's Net::StateMeetsRule).
pub fn state_meets_rule(state: &NetState, rule: &NetStateRule) -> bool {
    if rule.phase.is_some_and(|p| p != state.phase()) {
        return false;
    }
    if rule.min_level.is_some_and(|min| state.level() < min) {
        return false;
    }
    if rule.max_level.is_some_and(|max| state.level() > max) {
        return false;
    }
    if !rule.stage.iter().all(|s| state.stage.contains(s)) {
        return false;
    }
    if rule.not_stage.iter().any(|s| state.stage.contains(s)) {
        return false;
    }
    true
}

/// Whether a layer is part of the net in `state`. Errors when the layer has both
/// include and exclude rules, which Caffe refuses.
pub fn layer_included(state: &NetState, layer: &LayerParameter) -> Result<bool, String> {
    if !layer.include.is_empty() && !layer.exclude.is_empty() {
        return Err(
            "has both include and exclude rules; Caffe allows one kind or the other".into(),
        );
    }
    if !layer.include.is_empty() {
        return Ok(layer.include.iter().any(|r| state_meets_rule(state, r)));
    }
    Ok(!layer.exclude.iter().any(|r| state_meets_rule(state, r)))
}

/// The layers of `net` that `state` includes, each given the state's phase unless it
/// names its own (as Caffe's Net::Init does). The net's own `state` stages are merged
/// into `state` by the caller.
pub fn filter_net(
    net: &NetParameter,
    state: &NetState,
) -> Result<Vec<(usize, LayerParameter)>, (usize, String)> {
    let mut kept = Vec::new();
    for (i, layer) in net.layer.iter().enumerate() {
        if layer_included(state, layer).map_err(|e| (i, e))? {
            let mut layer = layer.clone();
            if layer.phase.is_none() {
                layer.phase = state.phase;
            }
            kept.push((i, layer));
        }
    }
    Ok(kept)
}

/// Describes a rule the way it would be written, for error messages:
/// `phase: TEST stage: "test-on-train"`.
pub fn describe_rule(rule: &NetStateRule) -> String {
    let mut parts = Vec::new();
    if let Some(p) = rule.phase {
        parts.push(format!("phase: {p}"));
    }
    if let Some(l) = rule.min_level {
        parts.push(format!("min_level: {l}"));
    }
    if let Some(l) = rule.max_level {
        parts.push(format!("max_level: {l}"));
    }
    parts.extend(rule.stage.iter().map(|s| format!("stage: {s:?}")));
    parts.extend(rule.not_stage.iter().map(|s| format!("not_stage: {s:?}")));
    if parts.is_empty() {
        "always".into()
    } else {
        parts.join(" ")
    }
}

/// The phases a net's rules mention, TRAIN first; TEST alone when none do.
pub fn phases_mentioned(net: &NetParameter) -> Vec<Phase> {
    let mut phases = BTreeSet::new();
    for l in &net.layer {
        for r in l.include.iter().chain(&l.exclude) {
            if let Some(p) = r.phase {
                phases.insert(p.number());
            }
        }
    }
    if phases.is_empty() {
        return vec![Phase::Test];
    }
    phases
        .into_iter()
        .filter_map(|n| Phase::from_number(n as i64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(phase: Phase, level: i32, stages: &[&str]) -> NetState {
        NetState {
            phase: Some(phase),
            level: Some(level),
            stage: stages.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn rule(
        phase: Option<Phase>,
        min: Option<i32>,
        max: Option<i32>,
        stage: &[&str],
        not: &[&str],
    ) -> NetStateRule {
        NetStateRule {
            phase,
            min_level: min,
            max_level: max,
            stage: stage.iter().map(|s| s.to_string()).collect(),
            not_stage: not.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn rules_follow_state_meets_rule() {
        let s = state(Phase::Test, 2, &["a", "b"]);
        assert!(state_meets_rule(&s, &rule(None, None, None, &[], &[])));
        assert!(state_meets_rule(
            &s,
            &rule(Some(Phase::Test), Some(2), Some(2), &["a"], &["c"])
        ));
        assert!(!state_meets_rule(
            &s,
            &rule(Some(Phase::Train), None, None, &[], &[])
        ));
        assert!(!state_meets_rule(&s, &rule(None, Some(3), None, &[], &[])));
        assert!(!state_meets_rule(&s, &rule(None, None, Some(1), &[], &[])));
        assert!(!state_meets_rule(
            &s,
            &rule(None, None, None, &["a", "c"], &[])
        ));
        assert!(!state_meets_rule(&s, &rule(None, None, None, &[], &["b"])));
    }

    #[test]
    fn include_any_exclude_any_not_both() {
        let s = state(Phase::Train, 0, &[]);
        let mut l = LayerParameter {
            include: vec![
                rule(Some(Phase::Test), None, None, &[], &[]),
                rule(Some(Phase::Train), None, None, &[], &[]),
            ],
            ..Default::default()
        };
        assert_eq!(layer_included(&s, &l), Ok(true));
        l.include.clear();
        l.exclude = vec![rule(Some(Phase::Train), None, None, &[], &[])];
        assert_eq!(layer_included(&s, &l), Ok(false));
        l.include = vec![rule(None, None, None, &[], &[])];
        assert!(layer_included(&s, &l).is_err());
    }

    #[test]
    fn phases_mentioned_train_first_or_test_alone() {
        let mut net = NetParameter::default();
        assert_eq!(phases_mentioned(&net), vec![Phase::Test]);
        net.layer.push(LayerParameter {
            exclude: vec![rule(Some(Phase::Test), None, None, &[], &[])],
            ..Default::default()
        });
        net.layer.push(LayerParameter {
            include: vec![rule(Some(Phase::Train), None, None, &[], &[])],
            ..Default::default()
        });
        assert_eq!(phases_mentioned(&net), vec![Phase::Train, Phase::Test]);
    }
}
