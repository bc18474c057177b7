//! caffers as a Rust library: load a deploy prototxt and its `.caffemodel`, and run
//! `forward_tensor(&Tensor) -> Tensor` on a candle device (CUDA when this is built
//! with `--features cuda` and a GPU is there, else the CPU).
//!
//!     cargo run --release --example candle_forward -- nets/lenet_deploy.prototxt snapshots/lenet_iter_10000.caffemodel
//!
//! Without a weights file the layers keep their fillers' values (still a valid
//! forward, for trying the API).

use caffers::engine::CandleNet;
use caffers::net::{Net, NetOptions};
use caffers::proto::{NetState, Phase};
use candle_core::{DType, Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .ok_or("usage: candle_forward DEPLOY.prototxt [W.caffemodel]")?;
    let state = NetState {
        phase: Some(Phase::Test),
        ..Default::default()
    };
    let mut net = Net::from_file(model.as_ref(), &state, &NetOptions::default())?;
    if let Some(weights) = args.next() {
        net.load_caffemodel(weights.as_ref())?;
    }
    let device = Device::cuda_if_available(0)?;
    let input_name = net
        .input_layer_tops()
        .first()
        .cloned()
        .ok_or("no Input layer")?;
    let shape = net.slots[net.data_slot(&input_name).ok_or("no input slot")?]
        .shape
        .clone();
    let mut net = CandleNet::from_net(net, &device)?;

    // Any tensor of the Input's shape, on any device: here, a mid-grey batch.
    let x = Tensor::full(128f32, shape.as_slice(), &device)?.to_dtype(DType::F32)?;
    let y = net.forward_tensor(&x)?;
    let best = y.flatten_from(1)?.argmax(1)?.to_vec1::<u32>()?;
    println!(
        "input {shape:?} on {device:?} → output {:?}; argmax per item {best:?}",
        y.dims()
    );
    Ok(())
}
