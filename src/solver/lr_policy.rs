//! Caffe's learning-rate policies (SGDSolver::GetLearningRate). Computed in f64,
//! as C++'s `pow` promotes, and rounded to f32 like Caffe's `Dtype rate`.

use crate::proto::SolverParameter;

/// A solver's `lr_policy`, parsed once when the solver is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrPolicy {
    Fixed,
    Step,
    Exp,
    Inv,
    Multistep,
    Poly,
    Sigmoid,
}

impl LrPolicy {
    /// Every policy, in the order Caffe's GetLearningRate lists them.
    pub const ALL: [LrPolicy; 7] = [
        LrPolicy::Fixed,
        LrPolicy::Step,
        LrPolicy::Exp,
        LrPolicy::Inv,
        LrPolicy::Multistep,
        LrPolicy::Poly,
        LrPolicy::Sigmoid,
    ];

    /// The name a solver file gives the policy.
    pub fn name(self) -> &'static str {
        match self {
            LrPolicy::Fixed => "fixed",
            LrPolicy::Step => "step",
            LrPolicy::Exp => "exp",
            LrPolicy::Inv => "inv",
            LrPolicy::Multistep => "multistep",
            LrPolicy::Poly => "poly",
            LrPolicy::Sigmoid => "sigmoid",
        }
    }

    pub fn from_name(name: &str) -> Option<LrPolicy> {
        LrPolicy::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The learning rate at `iter` under `policy` (the solver's parsed `lr_policy`).
/// `current_step` is the multistep (and step) state kept in the solverstate;
/// multistep advances it at most once per call.
pub fn learning_rate(
    policy: LrPolicy,
    p: &SolverParameter,
    iter: i32,
    current_step: &mut i32,
) -> f32 {
    let base = p.base_lr() as f64;
    let gamma = p.gamma() as f64;
    let power = p.power() as f64;
    let it = iter as f64;
    let rate = match policy {
        LrPolicy::Fixed => base,
        LrPolicy::Step => {
            *current_step = iter / p.stepsize().max(1);
            base * gamma.powi(*current_step)
        }
        LrPolicy::Exp => base * gamma.powf(it),
        LrPolicy::Inv => base * (1.0 + gamma * it).powf(-power),
        LrPolicy::Multistep => {
            let step = *current_step as usize;
            if step < p.stepvalue.len() && iter >= p.stepvalue[step] {
                *current_step += 1;
            }
            base * gamma.powi(*current_step)
        }
        LrPolicy::Poly => base * (1.0 - it / p.max_iter().max(1) as f64).powf(power),
        LrPolicy::Sigmoid => base * (1.0 / (1.0 + (-gamma * (it - p.stepsize() as f64)).exp())),
    };
    rate as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solver(text: &str) -> SolverParameter {
        let src = crate::error::SourceFile::new("t", text);
        crate::text::from_message(&src, &crate::text::parse(&src).unwrap()).unwrap()
    }

    /// The rate under the solver's own policy.
    fn rate(p: &SolverParameter, iter: i32, current_step: &mut i32) -> f32 {
        let policy = LrPolicy::from_name(p.lr_policy()).expect("a known policy");
        learning_rate(policy, p, iter, current_step)
    }

    #[test]
    fn policy_names_round_trip() {
        for policy in LrPolicy::ALL {
            assert_eq!(LrPolicy::from_name(policy.name()), Some(policy));
        }
        assert_eq!(LrPolicy::from_name("Step"), None);
        assert_eq!(LrPolicy::from_name(""), None);
    }

    #[test]
    fn lenet_inv_matches_the_mnist_tutorial() {
        // examples/mnist/readme.md: lr(100) = 0.00992565.
        let p = solver("base_lr: 0.01 lr_policy: 'inv' gamma: 0.0001 power: 0.75");
        let lr = rate(&p, 100, &mut 0);
        assert!((lr - 0.00992565).abs() < 1e-8, "{lr}");
    }

    #[test]
    fn step_multistep_poly_sigmoid() {
        let p = solver("base_lr: 1 lr_policy: 'step' gamma: 0.5 stepsize: 2");
        let rates: Vec<f32> = (0..5).map(|i| rate(&p, i, &mut 0)).collect();
        assert_eq!(rates, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
        let p = solver("base_lr: 1 lr_policy: 'multistep' gamma: 0.1 stepvalue: 1 stepvalue: 3");
        let mut step = 0;
        let rates: Vec<f32> = (0..5).map(|i| rate(&p, i, &mut step)).collect();
        for (r, e) in rates.iter().zip([1.0, 0.1, 0.1, 0.01, 0.01]) {
            assert!((r - e).abs() < 1e-7, "{rates:?}");
        }
        let p = solver("base_lr: 1 lr_policy: 'poly' power: 2 max_iter: 10");
        assert!((rate(&p, 5, &mut 0) - 0.25).abs() < 1e-7);
        let p = solver("base_lr: 1 lr_policy: 'sigmoid' gamma: 0.5 stepsize: 3");
        assert!((rate(&p, 3, &mut 0) - 0.5).abs() < 1e-7);
    }
}
