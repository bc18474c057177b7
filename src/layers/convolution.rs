//! Convolution and Deconvolution (its transpose): N-D geometry from
//! ConvolutionParameter, output sizes by Caffe's rules.

use super::{canonical_axis, count, BlobCounts, Layer, Shape};
use crate::proto::{ConvolutionParameter, LayerParameter};

/// Kernel, stride, pad and dilation per spatial axis, with Caffe's defaults and
/// its `_h`/`_w` forms resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeometry {
    pub kernel: Vec<usize>,
    pub stride: Vec<usize>,
    pub pad: Vec<usize>,
    pub dilation: Vec<usize>,
}

impl ConvGeometry {
    /// Resolves the geometry for `spatial` spatial axes.
    pub fn from_param(p: &ConvolutionParameter, spatial: usize) -> Result<Self, String> {
        let two_d = |h: Option<u32>,
                     w: Option<u32>,
                     list: &[u32],
                     name: &str|
         -> Result<Option<Vec<usize>>, String> {
            match (h, w) {
                (None, None) => Ok(None),
                (Some(h), Some(w)) => {
                    if spatial != 2 {
                        return Err(format!(
                            "{name}_h/{name}_w can only be used for 2-D convolution"
                        ));
                    }
                    if !list.is_empty() {
                        return Err(format!("give either {name} or {name}_h/{name}_w, not both"));
                    }
                    Ok(Some(vec![h as usize, w as usize]))
                }
                _ => Err(format!("{name}_h and {name}_w must be given together")),
            }
        };
        let per_axis = |list: &[u32], default: usize, name: &str| -> Result<Vec<usize>, String> {
            match list.len() {
                0 => Ok(vec![default; spatial]),
                1 => Ok(vec![list[0] as usize; spatial]),
                n if n == spatial => Ok(list.iter().map(|&v| v as usize).collect()),
                n => Err(format!("{name} must be given once or {spatial} times (once per spatial axis), not {n} times")),
            }
        };
        let kernel = match two_d(p.kernel_h, p.kernel_w, &p.kernel_size, "kernel")? {
            Some(k) => k,
            None if p.kernel_size.is_empty() => {
                return Err("convolution_param needs kernel_size (or kernel_h and kernel_w)".into())
            }
            None => per_axis(&p.kernel_size, 0, "kernel_size")?,
        };
        if kernel.contains(&0) {
            return Err("kernel dimensions must be greater than zero".into());
        }
        let stride = match two_d(p.stride_h, p.stride_w, &p.stride, "stride")? {
            Some(s) => s,
            None => per_axis(&p.stride, 1, "stride")?,
        };
        if stride.contains(&0) {
            return Err("stride must be greater than zero".into());
        }
        let pad = match two_d(p.pad_h, p.pad_w, &p.pad, "pad")? {
            Some(s) => s,
            None => per_axis(&p.pad, 0, "pad")?,
        };
        let dilation = per_axis(&p.dilation, 1, "dilation")?;
        if dilation.contains(&0) {
            return Err("dilation must be greater than zero".into());
        }
        Ok(ConvGeometry {
            kernel,
            stride,
            pad,
            dilation,
        })
    }

    /// Convolution output size along spatial axis `i` for input size `input`.
    pub fn conv_output(&self, i: usize, input: usize) -> Result<usize, String> {
        let extent = self.dilation[i] * (self.kernel[i] - 1) + 1;
        let padded = input + 2 * self.pad[i];
        if extent > padded {
            return Err(format!(
                "kernel extent {extent} is larger than the padded input {input}+2·{} = {padded} along spatial axis {i}",
                self.pad[i]
            ));
        }
        Ok((padded - extent) / self.stride[i] + 1)
    }

    /// Deconvolution output size along spatial axis `i`.
    pub fn deconv_output(&self, i: usize, input: usize) -> Result<usize, String> {
        let extent = self.dilation[i] * (self.kernel[i] - 1) + 1;
        let full = self.stride[i] * (input.max(1) - 1) + extent;
        full.checked_sub(2 * self.pad[i])
            .filter(|&o| o > 0)
            .ok_or_else(|| {
                format!(
                    "padding {} leaves no output along spatial axis {i}",
                    self.pad[i]
                )
            })
    }
}

pub struct Convolution {
    param: ConvolutionParameter,
    transposed: bool,
    num_output: usize,
    group: usize,
    bias: bool,
    axis: i32,
    weight_shape: Shape,
    geometry: Option<ConvGeometry>,
}

impl Convolution {
    pub fn new(layer: &LayerParameter, transposed: bool) -> Result<Self, String> {
        let p = layer.convolution_param();
        let num_output = p.num_output() as usize;
        if num_output == 0 {
            return Err("convolution_param.num_output must be greater than zero".into());
        }
        let group = p.group() as usize;
        if group == 0 {
            return Err("convolution_param.group must be greater than zero".into());
        }
        if !num_output.is_multiple_of(group) {
            return Err(format!(
                "num_output {num_output} is not a multiple of group {group}"
            ));
        }
        Ok(Convolution {
            bias: p.bias_term(),
            axis: p.axis(),
            param: p,
            transposed,
            num_output,
            group,
            weight_shape: Vec::new(),
            geometry: None,
        })
    }

    pub fn geometry(&self) -> Option<&ConvGeometry> {
        self.geometry.as_ref()
    }
}

impl Layer for Convolution {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((1, usize::MAX), (1, usize::MAX))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let first = &bottoms[0];
        let channel_axis = canonical_axis(self.axis, first.len())?;
        let spatial = first.len() - channel_axis - 1;
        if spatial == 0 {
            return Err(format!("bottom of shape {first:?} has no spatial axes after the channel axis {channel_axis}"));
        }
        let geometry = ConvGeometry::from_param(&self.param, spatial)?;
        let channels = first[channel_axis];
        if !channels.is_multiple_of(self.group) {
            return Err(format!(
                "input channels {channels} are not a multiple of group {}",
                self.group
            ));
        }
        for (i, b) in bottoms.iter().enumerate().skip(1) {
            if b != first {
                return Err(format!("all bottoms must have the same shape: bottom 0 is {first:?}, bottom {i} is {b:?}"));
            }
        }
        let mut top: Shape = first[..=channel_axis].to_vec();
        top[channel_axis] = self.num_output;
        for i in 0..spatial {
            let input = first[channel_axis + 1 + i];
            top.push(if self.transposed {
                geometry.deconv_output(i, input)?
            } else {
                geometry.conv_output(i, input)?
            });
        }
        self.weight_shape = if self.transposed {
            vec![channels, self.num_output / self.group]
        } else {
            vec![self.num_output, channels / self.group]
        };
        self.weight_shape.extend(&geometry.kernel);
        self.geometry = Some(geometry);
        Ok(vec![top; bottoms.len()])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        let mut shapes = vec![self.weight_shape.clone()];
        if self.bias {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }

    fn forward_macs(&self, bottoms: &[Shape], tops: &[Shape]) -> u64 {
        // Every output (conv) or input (deconv) position costs one filter's worth.
        let per_position = count(&self.weight_shape[1..]) as u64;
        let positions: u64 = if self.transposed {
            bottoms.iter().map(|b| count(b) as u64).sum()
        } else {
            tops.iter().map(|t| count(t) as u64).sum()
        };
        positions * per_position
    }
}
