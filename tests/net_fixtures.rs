//! Whole nets from ../shared/fixtures/nets (Caffe's LeNet, cifar10_quick,
//! cifar10_full and cifar10_full_sigmoid_bn with Input layers, batch 4, phase
//! TRAIN): every blob, gradient and parameter gradient must match BVLC Caffe within
//! |ours − caffe| ≤ 1e-5 + 1e-4·|caffe| — except where stated per net.

mod common;

use caffers::proto::Phase;
use common::{run_fixture, ABS_TOL, REL_TOL};

fn check(case: &str, abs: f32, rel: f32) {
    let problems = run_fixture("nets", case, Phase::Train, abs, rel);
    assert!(
        problems.is_empty(),
        "{case}: {} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn lenet() {
    check("lenet", ABS_TOL, REL_TOL);
}

#[test]
fn cifar10_quick() {
    check("cifar10_quick", ABS_TOL, REL_TOL);
}

#[test]
fn cifar10_full() {
    check("cifar10_full", ABS_TOL, REL_TOL);
}

#[test]
fn cifar10_full_sigmoid_bn() {
    check("cifar10_full_sigmoid_bn", ABS_TOL, REL_TOL);
}
