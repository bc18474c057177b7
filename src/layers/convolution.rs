//! Convolution and Deconvolution (its transpose): N-D geometry from
//! ConvolutionParameter, output sizes by Caffe's rules, and forward/backward
//! passes for one or two spatial axes.
//!
//! Both layers run the same per-image convolution through a
//! [`crate::kernels::conv::Plan`] made at reshape, which picks the kernels and
//! owns their scratch. Convolution maps bottom → top with it; Deconvolution is
//! its transpose: its top is the convolution's input side and its bottom the
//! output side, with Caffe's weight layout
//! `[bottom channels, num_output / group, kh, kw]`.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::kernels::conv::{BackwardPass, ConvShape, Plan};
use crate::kernels::im2col::Geom2d;
use crate::proto::{ConvolutionParameter, LayerParameter};
use crate::rng::Rng;
use crate::shape::{canonical_axis, count, Shape};

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
    /// The batch convolution (input side = bottom for Convolution, top for
    /// Deconvolution), made by `reshape`; bottoms are its `x`, tops its `y`.
    plan: Option<Plan>,
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
        crate::fillers::validate(&p.weight_filler()).map_err(|e| format!("weight_filler: {e}"))?;
        if p.bias_term() {
            crate::fillers::validate(&p.bias_filler()).map_err(|e| format!("bias_filler: {e}"))?;
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
            plan: None,
        })
    }

    pub fn geometry(&self) -> Option<&ConvGeometry> {
        self.geometry.as_ref()
    }

    /// The per-image convolution for bottom shape `bottom` and top shape `top`.
    fn conv_shape(
        &self,
        g: &ConvGeometry,
        bottom: &[usize],
        top: &[usize],
        channel_axis: usize,
    ) -> Result<ConvShape, String> {
        let spatial = g.kernel.len();
        // One spatial axis runs as a 2-D convolution of height 1.
        let two = |v: &[usize], one: usize| -> Result<[usize; 2], String> {
            match v.len() {
                1 => Ok([one, v[0]]),
                2 => Ok([v[0], v[1]]),
                n => Err(format!(
                    "convolution over {n} spatial axes is not supported (1 or 2 only)"
                )),
            }
        };
        let (kernel, stride, pad, dilation) = (
            two(&g.kernel, 1)?,
            two(&g.stride, 1)?,
            two(&g.pad, 0)?,
            two(&g.dilation, 1)?,
        );
        let (input, output) = if self.transposed {
            (top, bottom)
        } else {
            (bottom, top)
        };
        let in_hw = two(&input[channel_axis + 1..channel_axis + 1 + spatial], 1)?;
        let out_hw = two(&output[channel_axis + 1..channel_axis + 1 + spatial], 1)?;
        Ok(ConvShape {
            geom: Geom2d {
                channels: input[channel_axis],
                height: in_hw[0],
                width: in_hw[1],
                kernel,
                pad,
                stride,
                dilation,
                out_height: out_hw[0],
                out_width: out_hw[1],
            },
            out_channels: output[channel_axis],
            group: self.group,
        })
    }

    /// Checks blob counts and parameter sizes before a pass; returns the
    /// images, bottom and top values per image.
    fn check_run(
        &self,
        bottoms: usize,
        tops: usize,
        params: &[Blob],
    ) -> Result<(usize, usize, usize), String> {
        let plan = self
            .plan
            .as_ref()
            .ok_or("the layer was run before its shapes were set")?;
        if bottoms != tops {
            return Err(format!("{bottoms} bottom(s) but {tops} top(s)"));
        }
        let want = if self.bias { 2 } else { 1 };
        if params.len() != want {
            return Err(format!(
                "expects {want} parameter blob(s), got {}",
                params.len()
            ));
        }
        check_len("weight", params[0].count(), plan.shape().weight_len())?;
        if self.bias {
            check_len("bias", params[1].count(), self.num_output)?;
        }
        Ok((plan.images(), plan.x_len(), plan.y_len()))
    }
}

fn check_len(what: &str, have: usize, want: usize) -> Result<(), String> {
    if have == want {
        Ok(())
    } else {
        Err(format!(
            "{what} blob has {have} values where {want} are expected"
        ))
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
        let shape = self.conv_shape(&geometry, first, &top, channel_axis)?;
        let images = count(&first[..channel_axis]);
        self.plan = Some(Plan::new(shape, self.transposed, images));
        self.geometry = Some(geometry);
        Ok(vec![top; bottoms.len()])
    }

    fn fill_params(&self, params: &mut [Blob], rng: &mut Rng) {
        if let Some(w) = params.get_mut(0) {
            crate::fillers::fill(&self.param.weight_filler(), w, rng);
        }
        if self.bias {
            if let Some(b) = params.get_mut(1) {
                crate::fillers::fill(&self.param.bias_filler(), b, rng);
            }
        }
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        params: &mut [Blob],
        _ctx: &mut RunContext,
    ) -> Result<(), String> {
        let (images, bottom_len, top_len) = self.check_run(bottoms.len(), tops.len(), params)?;
        for (bottom, top) in bottoms.iter().zip(tops.iter()) {
            check_len("bottom", bottom.count(), images * bottom_len)?;
            check_len("top", top.count(), images * top_len)?;
        }
        let weights = params[0].data.as_slice();
        let bias = if self.bias {
            Some(params[1].data.as_slice())
        } else {
            None
        };
        let plan = self.plan.as_mut().expect("checked by check_run");
        let batches = bottoms
            .iter()
            .zip(tops.iter_mut())
            .map(|(bottom, top)| (bottom.data.as_slice(), top.data.as_mut_slice()));
        plan.forward(weights, bias, batches);
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        params: &mut [Blob],
        ctx: &mut RunContext,
    ) -> Result<(), String> {
        let (images, bottom_len, top_len) = self.check_run(bottoms.len(), tops.len(), params)?;
        // Caffe's param_propagate_down: frozen (lr_mult 0) parameters get no gradient.
        let want_weights = ctx.param_wanted(0);
        let has_bias = self.bias && ctx.param_wanted(1);
        let any_propagate = propagate_down.iter().any(|&p| p);
        if !any_propagate && !want_weights && !has_bias {
            return Ok(());
        }
        for (top, bottom) in tops.iter().zip(bottoms.iter()) {
            check_len("top", top.count(), images * top_len)?;
            check_len("bottom", bottom.count(), images * bottom_len)?;
        }
        let batches = tops
            .iter()
            .zip(bottoms.iter_mut())
            .enumerate()
            .map(|(j, (top, bottom))| {
                let propagate = propagate_down.get(j).copied().unwrap_or(false);
                BackwardPass {
                    x: bottom.data.as_slice(),
                    dy: top.diff.as_slice(),
                    dx: propagate.then_some(bottom.diff.as_mut_slice()),
                }
            });
        let (weight_blob, rest) = params.split_at_mut(1);
        let weights = weight_blob[0].data.as_slice();
        let weight_grad = want_weights.then_some(weight_blob[0].diff.as_mut_slice());
        let bias_grad = if has_bias {
            Some(rest[0].diff.as_mut_slice())
        } else {
            None
        };
        let plan = self.plan.as_mut().expect("checked by check_run");
        plan.backward(weights, batches, weight_grad, bias_grad);
        Ok(())
    }

    fn param_shapes(&self) -> Vec<Shape> {
        let mut shapes = vec![self.weight_shape.clone()];
        if self.bias {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }

    fn scratch_bytes(&self) -> u64 {
        self.plan.as_ref().map_or(0, Plan::scratch_bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    fn conv(params: &str) -> String {
        format!(r#"type: "Convolution" bottom: "x" top: "y" convolution_param {{ {params} }}"#)
    }

    fn deconv(params: &str) -> String {
        format!(r#"type: "Deconvolution" bottom: "x" top: "y" convolution_param {{ {params} }}"#)
    }

    fn check(text: &str, shapes: &[Shape]) {
        let mut t = TestLayer::new(text, Phase::Train, shapes);
        let all = vec![true; shapes.len()];
        t.check_gradients(&all, true, 1e-2, 1e-2, None);
    }

    #[test]
    fn gradients_plain_padded_strided() {
        check(
            &conv("num_output: 3 kernel_size: 3 pad: 1 stride: 2"),
            &[vec![2, 2, 7, 6]],
        );
    }

    #[test]
    fn gradients_hw_forms_without_bias() {
        check(
            &conv("num_output: 2 kernel_h: 2 kernel_w: 3 pad_h: 0 pad_w: 2 stride_h: 1 stride_w: 3 bias_term: false"),
            &[vec![2, 3, 5, 6]],
        );
    }

    #[test]
    fn gradients_group_and_dilation() {
        check(
            &conv("num_output: 4 kernel_size: 2 dilation: 2 pad: 1 group: 2"),
            &[vec![3, 4, 6, 5]],
        );
    }

    #[test]
    fn gradients_pointwise() {
        check(
            &conv("num_output: 3 kernel_size: 1 group: 1"),
            &[vec![3, 4, 3, 2]],
        );
    }

    #[test]
    fn gradients_depthwise() {
        check(
            &conv("num_output: 3 kernel_size: 3 pad: 2 stride: 2 group: 3"),
            &[vec![2, 3, 7, 6]],
        );
    }

    #[test]
    fn gradients_deconv() {
        check(
            &deconv("num_output: 2 kernel_size: 3 stride: 2 pad: 1"),
            &[vec![2, 3, 4, 3]],
        );
    }

    #[test]
    fn gradients_deconv_group_dilation() {
        check(
            &deconv("num_output: 4 kernel_size: 2 stride: 2 dilation: 2 group: 2"),
            &[vec![2, 2, 3, 4]],
        );
    }

    #[test]
    fn gradients_deconv_depthwise() {
        check(
            &deconv("num_output: 3 kernel_size: 3 stride: 2 group: 3"),
            &[vec![2, 3, 3, 3]],
        );
    }

    #[test]
    fn gradients_one_spatial_axis_and_two_bottoms() {
        let text = r#"type: "Convolution" bottom: "a" bottom: "b" top: "c" top: "d"
            convolution_param { num_output: 2 kernel_size: 3 pad: 1 stride: 2 }"#;
        check(text, &[vec![3, 2, 9], vec![3, 2, 9]]);
    }

    #[test]
    fn gradients_random_shapes() {
        let mut rng = Rng::new(5);
        for _ in 0..12 {
            let group = 1 + rng.below(2) as u32;
            let cin = group as usize * (1 + rng.below(2) as usize);
            let cout = group * (1 + rng.below(2) as u32);
            let k = 1 + rng.below(3);
            let stride = 1 + rng.below(2);
            let pad = rng.below(2);
            let dilation = 1 + rng.below(2);
            let h = 4 + rng.below(3) as usize;
            let w = 4 + rng.below(3) as usize;
            let params = format!(
                "num_output: {cout} kernel_size: {k} stride: {stride} pad: {pad} dilation: {dilation} group: {group}"
            );
            let text = if rng.bernoulli(0.5) {
                deconv(&params)
            } else {
                conv(&params)
            };
            check(&text, &[vec![2, cin, h, w]]);
        }
    }

    #[test]
    fn no_bottom_gradient_without_propagate_down_and_param_gradients_accumulate() {
        let mut t = TestLayer::new(
            &conv("num_output: 4 kernel_size: 3 pad: 1"),
            Phase::Train,
            &[vec![5, 3, 6, 6]],
        );
        t.forward();
        let mut rng = Rng::new(9);
        t.tops[0]
            .diff
            .iter_mut()
            .for_each(|d| *d = rng.uniform(-1.0, 1.0));
        t.bottoms[0].diff.iter_mut().for_each(|d| *d = 7.0);
        t.backward(&[false]);
        assert!(t.bottoms[0].diff.iter().all(|&d| d == 7.0));
        let once: Vec<Vec<f32>> = t.params.iter().map(|p| p.diff.clone()).collect();
        assert!(once[0].iter().any(|&d| d != 0.0) && once[1].iter().any(|&d| d != 0.0));
        t.backward(&[true]);
        for (p, o) in t.params.iter().zip(&once) {
            for (a, b) in p.diff.iter().zip(o) {
                assert!(
                    (a - 2.0 * b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{a} vs 2·{b}"
                );
            }
        }
        assert!(t.bottoms[0].diff.iter().all(|&d| d != 7.0));
    }

    #[test]
    fn batch_results_equal_per_image_results_and_repeat_exactly() {
        // Parallel ranges of images must give each image what it gets alone.
        let text = conv("num_output: 4 kernel_size: 3 pad: 1 group: 2");
        let mut batch = TestLayer::new(&text, Phase::Train, &[vec![7, 4, 5, 5]]);
        batch.forward();
        let first = batch.tops[0].data.clone();
        batch.forward();
        assert_eq!(batch.tops[0].data, first, "forward is not repeatable");
        let per = 4 * 5 * 5;
        for n in 0..7 {
            let mut one = TestLayer::new(&text, Phase::Train, &[vec![1, 4, 5, 5]]);
            one.params = batch.params.clone();
            one.bottoms[0]
                .data
                .copy_from_slice(&batch.bottoms[0].data[n * per..(n + 1) * per]);
            one.forward();
            for (a, b) in one.tops[0].data.iter().zip(&first[n * per..(n + 1) * per]) {
                assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()));
            }
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let param = crate::layers::testing::layer_param(&conv("num_output: 2 kernel_size: 3"));
        let mut layer = Convolution::new(&param, false).unwrap();
        let e = layer.reshape(&[vec![1, 1, 4, 4, 4]]).unwrap_err();
        assert!(e.contains("not supported"), "{e}");
        let mut layer = Convolution::new(&param, false).unwrap();
        layer.reshape(&[vec![1, 1, 4, 4]]).unwrap();
        let bottom = Blob::new(&[1, 1, 4, 4]);
        let mut tops = vec![Blob::new(&[1, 2, 2, 2])];
        let mut rng = Rng::new(1);
        let mut ctx = RunContext {
            phase: Phase::Test,
            rng: &mut rng,
            param_propagate: &[],
        };
        // Wrong weight size.
        let mut params = vec![Blob::new(&[2, 1, 2, 2]), Blob::new(&[2])];
        let e = layer
            .forward(&[&bottom], &mut tops, &mut params, &mut ctx)
            .unwrap_err();
        assert!(e.contains("weight"), "{e}");
        // Missing bias.
        let mut params = vec![Blob::new(&[2, 1, 3, 3])];
        assert!(layer
            .forward(&[&bottom], &mut tops, &mut params, &mut ctx)
            .is_err());
        // Wrong bottom size.
        let mut params = vec![Blob::new(&[2, 1, 3, 3]), Blob::new(&[2])];
        let small = Blob::new(&[1, 1, 3, 4]);
        assert!(layer
            .forward(&[&small], &mut tops, &mut params, &mut ctx)
            .is_err());
        // Not reshaped yet.
        let mut fresh = Convolution::new(&param, false).unwrap();
        assert!(fresh
            .forward(&[&bottom], &mut tops, &mut params, &mut ctx)
            .is_err());
        // Bad filler.
        let bad = crate::layers::testing::layer_param(&conv(
            r#"num_output: 2 kernel_size: 3 weight_filler { type: "gausian" }"#,
        ));
        assert!(Convolution::new(&bad, false).is_err());
    }
}
