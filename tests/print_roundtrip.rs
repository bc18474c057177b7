//! Property test: any net the schema can hold prints to prototxt that parses back
//! to the same net (`parse(print(x)) == x`), with arbitrary names (quotes,
//! backslashes, control characters, non-ASCII), extreme numbers and nested messages.

use caffers::error::SourceFile;
use caffers::proto::{
    BlobShape, ConvolutionParameter, DimCheckMode, FillerParameter, InputParameter, LayerParameter,
    NetParameter, NetState, NetStateRule, ParamSpec, Phase, PoolMethod, PoolingParameter,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Any string at all, including what needs escaping.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_0-9/]{0,12}",
        any::<String>(),
        "[\"\\\\\n\r\t'#{}<>:;, \u{0}-\u{1f}\u{7f}é→\u{feff}]{0,8}",
    ]
}

/// Finite and infinite floats (NaN never equals itself, so it is left out).
fn float() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>().prop_filter("not NaN", |f| !f.is_nan()),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::MIN_POSITIVE / 2.0),
        Just(-0.0),
    ]
}

fn phase() -> impl Strategy<Value = Phase> {
    prop_oneof![Just(Phase::Train), Just(Phase::Test)]
}

fn rule() -> impl Strategy<Value = NetStateRule> {
    (
        option::of(phase()),
        option::of(any::<i32>()),
        option::of(any::<i32>()),
        vec(text(), 0..3),
        vec(text(), 0..2),
    )
        .prop_map(
            |(phase, min_level, max_level, stage, not_stage)| NetStateRule {
                phase,
                min_level,
                max_level,
                stage,
                not_stage,
            },
        )
}

fn filler() -> impl Strategy<Value = FillerParameter> {
    (option::of(text()), option::of(float()), option::of(float())).prop_map(
        |(r#type, std, value)| FillerParameter {
            r#type,
            std,
            value,
            ..Default::default()
        },
    )
}

fn param_spec() -> impl Strategy<Value = ParamSpec> {
    (
        option::of(text()),
        option::of(prop_oneof![
            Just(DimCheckMode::Strict),
            Just(DimCheckMode::Permissive)
        ]),
        option::of(float()),
        option::of(float()),
    )
        .prop_map(|(name, share_mode, lr_mult, decay_mult)| ParamSpec {
            name,
            share_mode,
            lr_mult,
            decay_mult,
        })
}

fn convolution() -> impl Strategy<Value = ConvolutionParameter> {
    (
        option::of(any::<u32>()),
        option::of(any::<bool>()),
        vec(any::<u32>(), 0..3),
        vec(any::<u32>(), 0..3),
        option::of(filler()),
        option::of(any::<i32>()),
    )
        .prop_map(
            |(num_output, bias_term, kernel_size, pad, weight_filler, axis)| ConvolutionParameter {
                num_output,
                bias_term,
                kernel_size,
                pad,
                weight_filler,
                axis,
                ..Default::default()
            },
        )
}

fn pooling() -> impl Strategy<Value = PoolingParameter> {
    (
        option::of(prop_oneof![
            Just(PoolMethod::Max),
            Just(PoolMethod::Ave),
            Just(PoolMethod::Stochastic)
        ]),
        option::of(any::<u32>()),
        option::of(any::<bool>()),
    )
        .prop_map(|(pool, kernel_size, global_pooling)| PoolingParameter {
            pool,
            kernel_size,
            global_pooling,
            ..Default::default()
        })
}

fn input() -> impl Strategy<Value = InputParameter> {
    vec(vec(any::<i64>(), 0..5), 0..3).prop_map(|shapes| InputParameter {
        shape: shapes.into_iter().map(|dim| BlobShape { dim }).collect(),
    })
}

prop_compose! {
    fn layer()(
        name in option::of(text()),
        r#type in option::of(prop_oneof![Just("Convolution".to_string()), text()]),
        bottom in vec(text(), 0..3),
        top in vec(text(), 0..3),
        phase in option::of(phase()),
        loss_weight in vec(float(), 0..2),
        param in vec(param_spec(), 0..3),
        propagate_down in vec(any::<bool>(), 0..2),
        include in vec(rule(), 0..2),
        exclude in vec(rule(), 0..2),
        convolution_param in option::of(convolution()),
        pooling_param in option::of(pooling()),
        input_param in option::of(input()),
    ) -> LayerParameter {
        LayerParameter {
            name, r#type, bottom, top, phase, loss_weight, param, propagate_down,
            include, exclude, convolution_param, pooling_param, input_param,
            ..Default::default()
        }
    }
}

prop_compose! {
    fn net()(
        name in option::of(text()),
        force_backward in option::of(any::<bool>()),
        state in option::of((option::of(phase()), option::of(any::<i32>()), vec(text(), 0..3))
            .prop_map(|(phase, level, stage)| NetState { phase, level, stage })),
        layer in vec(layer(), 0..6),
    ) -> NetParameter {
        NetParameter { name, force_backward, state, layer, ..Default::default() }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_nets_parse_back_to_the_same_net(net in net()) {
        let printed = caffers::text::to_prototxt(&net);
        let src = SourceFile::new("printed.prototxt", printed.clone());
        let tree = caffers::text::parse(&src)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
        let back: NetParameter = caffers::text::from_message(&src, &tree)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
        prop_assert_eq!(back, net, "printed:\n{}", printed);
    }
}
