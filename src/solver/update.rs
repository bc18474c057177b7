//! The per-parameter update rules of Caffe's six solvers, as pure functions of a
//! gradient and the solver's history for that parameter (the shape of Caffe's
//! SolverState.history). Each writes the final step into `diff`; the caller then
//! does `data -= diff` (Caffe's Net::Update).

/// Solver settings the update rules read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateSettings {
    pub momentum: f32,
    pub momentum2: f32,
    pub delta: f32,
    pub rms_decay: f32,
}

/// Which rule, and how many history blobs per parameter it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Sgd,
    Nesterov,
    AdaGrad,
    RmsProp,
    AdaDelta,
    Adam,
}

impl Rule {
    /// Every rule, in the order Caffe registers the solvers.
    pub const ALL: [Rule; 6] = [
        Rule::Sgd,
        Rule::Nesterov,
        Rule::AdaGrad,
        Rule::RmsProp,
        Rule::AdaDelta,
        Rule::Adam,
    ];

    /// The solver `type` that selects the rule.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Sgd => "SGD",
            Rule::Nesterov => "Nesterov",
            Rule::AdaGrad => "AdaGrad",
            Rule::RmsProp => "RMSProp",
            Rule::AdaDelta => "AdaDelta",
            Rule::Adam => "Adam",
        }
    }

    pub fn from_type(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// History blobs per parameter: AdaDelta and Adam keep two (Caffe appends the
    /// second set after the first, one per parameter).
    pub fn histories(self) -> usize {
        match self {
            Rule::AdaDelta | Rule::Adam => 2,
            _ => 1,
        }
    }
}

/// Applies one rule to one parameter. `h1` is the history, `h2` the second history
/// (AdaDelta's update history, Adam's v); `iter` is the iteration being completed.
pub fn compute_update(
    rule: Rule,
    s: &UpdateSettings,
    local_rate: f32,
    iter: i32,
    diff: &mut [f32],
    h1: &mut [f32],
    h2: &mut [f32],
) {
    match rule {
        Rule::Sgd => {
            for (d, h) in diff.iter_mut().zip(h1.iter_mut()) {
                *h = s.momentum * *h + local_rate * *d;
                *d = *h;
            }
        }
        Rule::Nesterov => {
            for (d, h) in diff.iter_mut().zip(h1.iter_mut()) {
                let previous = *h;
                *h = s.momentum * *h + local_rate * *d;
                *d = (1.0 + s.momentum) * *h - s.momentum * previous;
            }
        }
        Rule::AdaGrad => {
            for (d, h) in diff.iter_mut().zip(h1.iter_mut()) {
                *h += *d * *d;
                *d = local_rate * (*d / (h.sqrt() + s.delta));
            }
        }
        Rule::RmsProp => {
            for (d, h) in diff.iter_mut().zip(h1.iter_mut()) {
                *h = s.rms_decay * *h + (1.0 - s.rms_decay) * (*d * *d);
                *d = local_rate * (*d / (h.sqrt() + s.delta));
            }
        }
        Rule::AdaDelta => {
            for ((d, hg), hu) in diff.iter_mut().zip(h1.iter_mut()).zip(h2.iter_mut()) {
                *hg = s.momentum * *hg + (1.0 - s.momentum) * (*d * *d);
                let scale = ((*hu + s.delta) / (*hg + s.delta)).sqrt();
                *d *= scale;
                *hu = s.momentum * *hu + (1.0 - s.momentum) * (*d * *d);
                *d *= local_rate;
            }
        }
        Rule::Adam => {
            let t = iter + 1;
            let (b1, b2) = (s.momentum as f64, s.momentum2 as f64);
            let correction = ((1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t))) as f32;
            let (beta1, beta2) = (s.momentum, s.momentum2);
            for ((d, m), v) in diff.iter_mut().zip(h1.iter_mut()).zip(h2.iter_mut()) {
                *m = (1.0 - beta1) * *d + beta1 * *m;
                *v = (1.0 - beta2) * (*d * *d) + beta2 * *v;
                *d = local_rate * correction * (*m / (v.sqrt() + s.delta));
            }
        }
    }
}

/// A solver's `regularization_type`, parsed once when the solver is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regularization {
    L1,
    L2,
}

impl Regularization {
    pub const ALL: [Regularization; 2] = [Regularization::L1, Regularization::L2];

    pub fn name(self) -> &'static str {
        match self {
            Regularization::L1 => "L1",
            Regularization::L2 => "L2",
        }
    }

    pub fn from_name(name: &str) -> Option<Regularization> {
        Regularization::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// Adds weight decay to a gradient (Caffe's Regularize): L2 adds `decay·w`, L1
/// adds `decay·sign(w)`.
pub fn regularize(kind: Regularization, local_decay: f32, data: &[f32], diff: &mut [f32]) {
    if local_decay == 0.0 {
        return;
    }
    for (d, &w) in diff.iter_mut().zip(data) {
        *d += if kind == Regularization::L1 {
            local_decay
                * (if w > 0.0 {
                    1.0
                } else if w < 0.0 {
                    -1.0
                } else {
                    0.0
                })
        } else {
            local_decay * w
        };
    }
}
