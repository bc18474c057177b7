//! Every solver setting of ../shared/fixtures/solvers (all six solver types, every
//! lr policy, L1, clipping, iter_size 2), run by BVLC Caffe for 5 steps on the same
//! net and inputs: our parameters after each step and the losses must match within
//! |ours − caffe| ≤ 1e-5 + 1e-4·|caffe|.

mod common;

use caffers::net::Net;
use caffers::solver::{validate, Solver};
use common::{compare, solver_case, SolverCase, ABS_TOL, REL_TOL};

fn check(name: &str) {
    let SolverCase { param, arrays, net } = solver_case(name);
    let rules = validate(&param).unwrap_or_else(|e| panic!("{e}"));
    let mut solver = Solver::new(param, rules, net, Vec::new());
    let data = arrays["input.data"].data.clone();
    let label = arrays["input.label"].data.clone();
    let mut feed = |net: &mut Net| {
        net.set_input("data", &data)?;
        net.set_input("label", &label)
    };
    let mut problems = Vec::new();
    for k in 1..=5 {
        let loss = solver
            .train_iteration(&mut feed)
            .unwrap_or_else(|e| panic!("{e}"));
        let caffe_loss = arrays[&format!("loss.{k}")].data[0];
        if compare(&[loss], &[caffe_loss], ABS_TOL, REL_TOL).is_some() {
            problems.push(format!("loss.{k}: ours {loss}, caffe {caffe_loss}"));
        }
        for (li, node) in solver.net.graph.layers.iter().enumerate() {
            for (i, &p) in solver.net.layer_params[li].iter().enumerate() {
                let key = format!("param.{}.{i}.after_{k}", node.name());
                let expected = &arrays[&key];
                if let Some((j, a, b)) =
                    compare(&solver.net.params[p].data, &expected.data, ABS_TOL, REL_TOL)
                {
                    problems.push(format!("{key}[{j}]: ours {a}, caffe {b}"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{name}: {} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

macro_rules! solver_cases {
    ($($name:ident),* $(,)?) => { $( #[test] fn $name() { check(stringify!($name)); } )* };
}

solver_cases! {
    sgd_fixed, sgd_step, sgd_exp, sgd_inv, sgd_multistep, sgd_poly, sgd_sigmoid, sgd_l1, sgd_clip,
    sgd_itersize2, nesterov, adagrad, rmsprop, adadelta, adam,
}
