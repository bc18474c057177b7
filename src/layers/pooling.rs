//! Pooling: MAX / AVE / STOCHASTIC windows with Caffe's output-size rules
//! (ceil by default, and the pad clip that keeps the last window in the image).

use super::{BlobCounts, Layer, Shape};
use crate::proto::{LayerParameter, PoolMethod, PoolingParameter, RoundMode};

/// Resolved pooling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub global: bool,
}

pub struct Pooling {
    param: PoolingParameter,
    method: PoolMethod,
    tops: usize,
    geometry: Option<PoolGeometry>,
}

fn pair(
    h: Option<u32>,
    w: Option<u32>,
    single: Option<u32>,
    default: u32,
    name: &str,
) -> Result<[usize; 2], String> {
    match (h, w, single) {
        (Some(h), Some(w), None) => Ok([h as usize, w as usize]),
        (None, None, s) => {
            let v = s.unwrap_or(default) as usize;
            Ok([v, v])
        }
        (Some(_), Some(_), Some(_)) => {
            Err(format!("give either {name} or {name}_h/{name}_w, not both"))
        }
        _ => Err(format!("{name}_h and {name}_w must be given together")),
    }
}

/// Pooled output size along one axis (Caffe's PoolingLayer::Reshape).
pub fn pooled_size(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    round: RoundMode,
) -> Result<usize, String> {
    let padded = input + 2 * pad;
    if kernel > padded {
        return Err(format!(
            "kernel {kernel} is larger than the padded input {input}+2·{pad} = {padded}"
        ));
    }
    let span = padded - kernel;
    let mut out = match round {
        RoundMode::Ceil => span.div_ceil(stride) + 1,
        RoundMode::Floor => span / stride + 1,
    };
    // The last window must start inside the image (plus left padding).
    if pad > 0 && (out - 1) * stride >= input + pad {
        out -= 1;
    }
    Ok(out)
}

impl Pooling {
    pub fn new(layer: &LayerParameter) -> Result<Self, String> {
        let p = layer.pooling_param();
        Ok(Pooling {
            method: p.pool(),
            tops: layer.top.len(),
            param: p,
            geometry: None,
        })
    }

    pub fn geometry(&self) -> Option<PoolGeometry> {
        self.geometry
    }

    fn resolve(&self, height: usize, width: usize) -> Result<PoolGeometry, String> {
        let p = &self.param;
        let global = p.global_pooling();
        let has_kernel = p.kernel_size.is_some() || p.kernel_h.is_some() || p.kernel_w.is_some();
        let kernel = if global {
            if has_kernel {
                return Err("with global_pooling, the kernel size cannot be given".into());
            }
            [height, width]
        } else {
            if !has_kernel {
                return Err("pooling_param needs kernel_size (or kernel_h and kernel_w)".into());
            }
            pair(p.kernel_h, p.kernel_w, p.kernel_size, 0, "kernel_size")?
        };
        if kernel.contains(&0) {
            return Err("kernel dimensions must be greater than zero".into());
        }
        let pad = pair(p.pad_h, p.pad_w, p.pad, 0, "pad")?;
        let stride = pair(p.stride_h, p.stride_w, p.stride, 1, "stride")?;
        if stride.contains(&0) {
            return Err("stride must be greater than zero".into());
        }
        if global && (pad != [0, 0] || stride != [1, 1]) {
            return Err("with global_pooling, pad must be 0 and stride 1".into());
        }
        if pad != [0, 0] {
            if !matches!(self.method, PoolMethod::Max | PoolMethod::Ave) {
                return Err("padding is only implemented for MAX and AVE pooling".into());
            }
            if pad[0] >= kernel[0] || pad[1] >= kernel[1] {
                return Err(format!(
                    "pad {pad:?} must be smaller than the kernel {kernel:?}"
                ));
            }
        }
        Ok(PoolGeometry {
            kernel,
            stride,
            pad,
            global,
        })
    }
}

impl Layer for Pooling {
    fn blob_counts(&self) -> BlobCounts {
        // MAX pooling may output its argmax mask as a second top.
        let max_tops = if self.method == PoolMethod::Max { 2 } else { 1 };
        BlobCounts::range((1, 1), (1, max_tops))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.len() != 4 {
            return Err(format!(
                "pooling needs a 4-axis bottom (N, C, H, W), got shape {b:?}"
            ));
        }
        let g = self.resolve(b[2], b[3])?;
        let round = if g.global {
            RoundMode::Floor
        } else {
            self.param.round_mode()
        };
        let h = pooled_size(b[2], g.kernel[0], g.stride[0], g.pad[0], round)?;
        let w = pooled_size(b[3], g.kernel[1], g.stride[1], g.pad[1], round)?;
        self.geometry = Some(g);
        let top = vec![b[0], b[1], h, w];
        Ok(vec![top; self.tops])
    }

    fn forward_macs(&self, _bottoms: &[Shape], tops: &[Shape]) -> u64 {
        // Not multiply-accumulates, but the comparisons/additions are worth showing.
        let g = self.geometry.unwrap_or(PoolGeometry {
            kernel: [0, 0],
            stride: [1, 1],
            pad: [0, 0],
            global: false,
        });
        tops.first().map_or(0, |t| {
            super::count(t) as u64 * (g.kernel[0] * g.kernel[1]) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_mode_and_pad_clip() {
        // cifar10_quick: 32 → 16 → 8 → 4 with 3×3 stride 2 windows.
        assert_eq!(pooled_size(32, 3, 2, 0, RoundMode::Ceil), Ok(16));
        assert_eq!(pooled_size(16, 3, 2, 0, RoundMode::Ceil), Ok(8));
        assert_eq!(pooled_size(8, 3, 2, 0, RoundMode::Ceil), Ok(4));
        assert_eq!(pooled_size(32, 3, 2, 0, RoundMode::Floor), Ok(15));
        // The clip: 5 + 2·1 with k=2, s=2 gives ceil(5/2)+1 = 4, but window 3 would
        // start at 6 ≥ 5 + 1, so it is dropped.
        assert_eq!(pooled_size(5, 2, 2, 1, RoundMode::Ceil), Ok(3));
        assert!(pooled_size(2, 3, 1, 0, RoundMode::Ceil).is_err());
    }
}
