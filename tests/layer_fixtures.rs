//! Every layer case of ../shared/fixtures/layers, produced by BVLC Caffe, must match:
//! every blob after forward, every blob and parameter gradient after backward, in
//! f32, within |ours − caffe| ≤ 1e-5 + 1e-4·|caffe|.

mod common;

use common::{case_phase, run_fixture, ABS_TOL, REL_TOL};

macro_rules! fixture_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let case = stringify!($case);
                let problems = run_fixture("layers", case, case_phase(case), ABS_TOL, REL_TOL);
                assert!(problems.is_empty(), "{case}: {} mismatches:\n{}", problems.len(), problems.join("\n"));
            }
        )*

        /// The list above must cover index.json exactly.
        #[test]
        fn every_case_is_listed() {
            let listed: Vec<&str> = vec![$(stringify!($case)),*];
            let text = std::fs::read_to_string(common::shared().join("fixtures/layers/index.json")).unwrap();
            let index: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut all: Vec<String> = index.as_array().unwrap().iter().map(|e| e["case"].as_str().unwrap().to_string()).collect();
            all.sort();
            let mut listed: Vec<String> = listed.into_iter().map(String::from).collect();
            listed.sort();
            assert_eq!(listed, all);
        }
    };
}

fixture_cases! {
    conv_basic, conv_hw, conv_group, conv_depthwise, conv_dilation, conv_1x1, deconv, deconv_group,
    pool_max_ceil, pool_max_pad, pool_max_hw, pool_ave_ceil, pool_ave_pad, pool_global_ave,
    pool_global_max, pool_floor, lrn_across, lrn_across_k, lrn_within, relu, relu_leaky, prelu,
    prelu_shared, elu, sigmoid, tanh, absval, bnll, power, exp, log, clip, swish, threshold,
    dropout_test, inner_product, inner_product_axis2, inner_product_transpose, softmax,
    softmax_axis, batchnorm_test, scale_bias, scale_two_bottoms, bias, eltwise_sum_coeff,
    eltwise_prod, eltwise_max, concat, concat_axis2, slice, split_fanout, flatten, reshape, crop,
    tile, reduction_sum, reduction_asum, reduction_sumsq, reduction_mean, mvn, mvn_across,
    softmax_loss, softmax_loss_spatial_ignore, softmax_loss_batchnorm, euclidean_loss,
    sigmoid_ce_loss, hinge_loss_l1, hinge_loss_l2, accuracy_top3, argmax, batchnorm_train,
}
