//! Class 1, sizes: absurd shapes are refused by `check`, `forward` and `time` alike,
//! naming the layer, before anything is allocated; the memory budget refuses nets
//! too big to run; a batch of 0 runs. Also two of class 7: an empty net and
//! `test --iterations 0` are errors.

use crate::support::{assert_clean_error, assert_success, caffers, input_net, workdir, write};

/// `check`, `forward` and `time` on `net` must each refuse it with `needles`.
fn refused_everywhere(case: &str, net: &str, needles: &[&str]) {
    let dir = workdir(case);
    let model = write(&dir, "net.prototxt", net);
    assert_clean_error(&caffers(&dir, &["check", &model]), needles);
    assert_clean_error(
        &caffers(&dir, &["forward", "--model", &model, "--dump", "out.npz"]),
        needles,
    );
    assert_clean_error(
        &caffers(&dir, &["time", "--model", &model, "--iterations", "1"]),
        needles,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const INT_MAX: &str = "exceeds INT_MAX";

#[test]
fn convolution_padding_past_int_max() {
    let net = input_net(
        &[1, 4, 4, 4],
        "layer { name: 'wide' type: 'Convolution' bottom: 'data' top: 'c'
           convolution_param { num_output: 4 kernel_size: 3 pad: 2147483647 } }",
    );
    refused_everywhere("conv-pad", &net, &["layer `wide`", "top `c`", INT_MAX]);
}

#[test]
fn convolution_stride_zero_and_kernel_past_input() {
    let stride0 = input_net(
        &[1, 1, 8, 8],
        "layer { name: 'still' type: 'Convolution' bottom: 'data' top: 'c'
           convolution_param { num_output: 1 kernel_size: 3 stride: 0 } }",
    );
    refused_everywhere("conv-stride0", &stride0, &["layer `still`", "stride"]);
    let big_kernel = input_net(
        &[1, 1, 8, 8],
        "layer { name: 'huge_k' type: 'Convolution' bottom: 'data' top: 'c'
           convolution_param { num_output: 1 kernel_h: 4000000000 kernel_w: 1 } }",
    );
    refused_everywhere("conv-kernel", &big_kernel, &["layer `huge_k`", "kernel"]);
}

#[test]
fn deconvolution_stride_past_int_max() {
    let net = input_net(
        &[1, 1, 3, 3],
        "layer { name: 'up' type: 'Deconvolution' bottom: 'data' top: 'u'
           convolution_param { num_output: 2 kernel_size: 4 stride: 4294967295 } }",
    );
    refused_everywhere("deconv-stride", &net, &["layer `up`", INT_MAX]);
}

#[test]
fn pooling_stride_zero_and_dilated_padding() {
    let net = input_net(
        &[1, 1, 8, 8],
        "layer { name: 'pool0' type: 'Pooling' bottom: 'data' top: 'p'
           pooling_param { pool: MAX kernel_size: 2 stride: 0 } }",
    );
    refused_everywhere("pool-stride0", &net, &["layer `pool0`", "stride"]);
    let net = input_net(
        &[1, 1, 8, 8],
        "layer { name: 'pool_big' type: 'Pooling' bottom: 'data' top: 'p'
           pooling_param { pool: MAX kernel_size: 9 } }",
    );
    refused_everywhere("pool-kernel", &net, &["layer `pool_big`", "kernel"]);
}

#[test]
fn inner_product_outputs_and_weights_past_int_max() {
    let wide_top = input_net(
        &[2, 3],
        "layer { name: 'fc' type: 'InnerProduct' bottom: 'data' top: 'y'
           inner_product_param { num_output: 2147483648 } }",
    );
    refused_everywhere("ip-top", &wide_top, &["layer `fc`", INT_MAX]);
    // The top (1 × 2^28) fits; the weights (2^28 × 64) do not.
    let wide_weights = input_net(
        &[1, 64],
        "layer { name: 'fc2' type: 'InnerProduct' bottom: 'data' top: 'y'
           inner_product_param { num_output: 268435456 } }",
    );
    refused_everywhere(
        "ip-weights",
        &wide_weights,
        &["layer `fc2`", "parameter blob 0", INT_MAX],
    );
}

#[test]
fn tile_embed_and_concat_past_int_max() {
    let tile = input_net(
        &[4, 4],
        "layer { name: 'many' type: 'Tile' bottom: 'data' top: 't' tile_param { axis: 1 tiles: 1073741824 } }",
    );
    refused_everywhere("tile", &tile, &["layer `many`", INT_MAX]);
    let embed = input_net(
        &[2],
        "layer { name: 'vocab' type: 'Embed' bottom: 'data' top: 'e'
           embed_param { num_output: 65536 input_dim: 4294967295 } }",
    );
    refused_everywhere(
        "embed",
        &embed,
        &["layer `vocab`", "parameter blob 0", INT_MAX],
    );
    let concat = input_net(
        &[1, 1073741824],
        "layer { name: 'twice' type: 'Concat' bottom: 'data' bottom: 'data' top: 'c' }",
    );
    refused_everywhere("concat", &concat, &["layer `twice`", INT_MAX]);
}

#[test]
fn source_shapes_whose_product_overflows() {
    // 2^20 to the fifth is 2^100: a wrapping product would see 0.
    let input = input_net(&[1048576, 1048576, 1048576, 1048576, 1048576], "");
    refused_everywhere("input-5d", &input, &["layer `in`", "more than 2^64"]);
    let dummy = "layer { name: 'noise' type: 'DummyData' top: 'd'
                   dummy_data_param { shape { dim: 65536 dim: 65536 dim: 65536 dim: 65536 } } }";
    refused_everywhere("dummy", dummy, &["layer `noise`", INT_MAX]);
    let memory = "layer { name: 'mem' type: 'MemoryData' top: 'd' top: 'l'
                    memory_data_param { batch_size: 2147483648 channels: 1 height: 1 width: 1 } }";
    refused_everywhere("memory-batch", memory, &["layer `mem`", INT_MAX]);
    let negative = input_net(&[2, -3], "");
    refused_everywhere("input-negative", &negative, &["layer `in`", "-3"]);
}

#[test]
fn a_huge_input_shape_from_the_command_line_is_refused() {
    let dir = workdir("input-shape");
    let model = write(&dir, "net.prototxt", input_net(&[1, 1], ""));
    let out = caffers(
        &dir,
        &[
            "check",
            &model,
            "--input-shape",
            "data=4294967296,4294967296,2",
        ],
    );
    assert_clean_error(&out, &["layer `in`", "more than 2^64"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A chain of `n` ReLUs over one Input of 2^30 values: each blob is within INT_MAX,
/// but together they need `n` × 8 GiB.
fn big_chain(n: usize) -> String {
    let layers: String = (0..n)
        .map(|i| {
            let bottom = if i == 0 {
                "data".to_string()
            } else {
                format!("r{}", i - 1)
            };
            format!("layer {{ name: 'relu{i}' type: 'ReLU' bottom: '{bottom}' top: 'r{i}' }}\n")
        })
        .collect();
    input_net(&[1, 1073741824], &layers)
}

#[test]
fn the_available_memory_bounds_a_net_by_default() {
    let dir = workdir("budget-default");
    let model = write(&dir, "net.prototxt", big_chain(128));
    assert_success(&caffers(&dir, &["check", &model]));
    let out = caffers(&dir, &["forward", "--model", &model, "--dump", "out.npz"]);
    assert_clean_error(
        &out,
        &["memory budget", "memory available now", "top `data`"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_limit_refuses_alexnet_and_allows_lenet() {
    let dir = workdir("budget-setting");
    write(&dir, "caffers.toml", "memory_limit = \"1GiB\"\n");
    let nets = crate::support::repo().join("nets");
    let alexnet = nets.join("alexnet_deploy.prototxt");
    let out = caffers(
        &dir,
        &[
            "time",
            "--model",
            alexnet.to_str().unwrap(),
            "--input-shape",
            "data=256,3,227,227",
            "--iterations",
            "1",
        ],
    );
    assert_clean_error(
        &out,
        &[
            "memory budget of 1.0 GiB",
            "memory_limit in caffers.toml",
            "layer `",
        ],
    );
    let lenet = nets.join("lenet_deploy.prototxt");
    let out = caffers(
        &dir,
        &[
            "time",
            "--model",
            lenet.to_str().unwrap(),
            "--iterations",
            "1",
        ],
    );
    assert_success(&out);
    write(&dir, "caffers.toml", "memory_limit = \"a lot\"\n");
    let out = caffers(&dir, &["time", "--model", lenet.to_str().unwrap()]);
    assert_clean_error(&out, &["caffers.toml:1:", "not a memory size"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_of_zero_runs_forward_and_backward() {
    let dir = workdir("batch0");
    let net = "force_backward: true
        layer { name: 'in' type: 'Input' top: 'data' top: 'label'
                input_param { shape { dim: 0 dim: 2 dim: 6 dim: 6 } shape { dim: 0 } } }
        layer { name: 'conv' type: 'Convolution' bottom: 'data' top: 'c'
                convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: 'xavier' } } }
        layer { name: 'pool' type: 'Pooling' bottom: 'c' top: 'p' pooling_param { pool: AVE kernel_size: 2 } }
        layer { name: 'ip' type: 'InnerProduct' bottom: 'p' top: 'y' inner_product_param { num_output: 4 } }
        layer { name: 'sig' type: 'Sigmoid' bottom: 'y' top: 'y' }
        layer { name: 'soft' type: 'Softmax' bottom: 'y' top: 'prob' }
        layer { name: 'loss' type: 'SoftmaxWithLoss' bottom: 'y' bottom: 'label' top: 'loss' }";
    let model = write(&dir, "net.prototxt", net);
    let out = caffers(
        &dir,
        &[
            "forward",
            "--model",
            &model,
            "--backward",
            "--dump",
            "out.npz",
        ],
    );
    assert_success(&out);
    assert!(dir.join("out.npz").exists());
    assert_success(&caffers(
        &dir,
        &["time", "--model", &model, "--iterations", "2"],
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_empty_net_is_refused() {
    let dir = workdir("empty-net");
    let model = write(&dir, "net.prototxt", "# nothing here\n");
    let out = caffers(&dir, &["forward", "--model", &model, "--dump", "out.npz"]);
    assert_clean_error(&out, &["no layers", "nothing to run"]);
    let solver = write(
        &dir,
        "solver.prototxt",
        "net: \"net.prototxt\"\nbase_lr: 0.01\nmax_iter: 2\nlr_policy: \"fixed\"\n",
    );
    assert_clean_error(
        &caffers(&dir, &["train", "--solver", &solver]),
        &["no layers"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn testing_zero_iterations_is_refused() {
    let dir = workdir("test-zero");
    let model = write(&dir, "net.prototxt", input_net(&[1, 2], ""));
    let out = caffers(
        &dir,
        &[
            "test",
            "--model",
            &model,
            "--weights",
            "none.caffemodel",
            "--iterations",
            "0",
        ],
    );
    assert_clean_error(&out, &["--iterations must be at least 1"]);
    let _ = std::fs::remove_dir_all(&dir);
}
