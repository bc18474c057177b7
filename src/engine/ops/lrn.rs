//! LRN. ACROSS_CHANNELS: the squares, zero-padded along the channels, summed over
//! `local_size` shifted narrow() slices; y = x · (k + α/n · Σ)^−β.
//! WITHIN_CHANNEL: Caffe's own composition — AVE pooling of the squares over a
//! `local_size` window (padding counted), then y = x · (1 + α · mean)^−β.

use candle_core::{Result, Tensor};

use super::pooling::{pool, Window};
use super::OpContext;
use crate::proto::{LayerParameter, NormRegion};

pub fn lrn(
    p: &LayerParameter,
    b: &[Tensor],
    _: &[Tensor],
    ctx: &mut OpContext,
) -> Result<Vec<Tensor>> {
    let q = p.lrn_param();
    let x = &b[0];
    let (_, c, h, w) = x.dims4()?;
    let size = q.local_size() as usize;
    let (alpha, beta) = (q.alpha() as f64, q.beta() as f64);
    let sq = x.sqr()?;
    let scale = match q.norm_region() {
        NormRegion::AcrossChannels => {
            let pre = (size - 1) / 2;
            let padded = sq.pad_with_zeros(1, pre, size - 1 - pre)?;
            let mut sum = padded.narrow(1, 0, c)?;
            for shift in 1..size {
                sum = sum.add(&padded.narrow(1, shift, c)?)?;
            }
            sum.affine(alpha / size as f64, q.k() as f64)?
        }
        NormRegion::WithinChannel => {
            let pad = (size - 1) / 2;
            let window = Window {
                y: (size, 1, pad),
                x: (size, 1, pad),
                out: (h, w),
            };
            pool(&sq, false, &window, ctx)?.affine(alpha, 1.0)?
        }
    };
    Ok(vec![x.mul(&scale.powf(-beta)?)?])
}
