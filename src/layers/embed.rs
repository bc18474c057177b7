//! Embed: a lookup table. Each bottom value is an integer index below `input_dim`;
//! the top appends an axis of `num_output` holding that row of the weights (plus the
//! bias). There is no gradient for the indices.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{FillerParameter, LayerParameter};
use crate::shape::{count, Shape};

pub struct Embed {
    num_output: usize,
    input_dim: usize,
    bias: bool,
    weight_filler: FillerParameter,
    bias_filler: FillerParameter,
}

impl Embed {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.embed_param();
        if p.num_output() == 0 {
            return Err("embed_param.num_output must be positive".into());
        }
        if p.input_dim() == 0 {
            return Err("embed_param.input_dim must be positive".into());
        }
        crate::fillers::validate(&p.weight_filler())?;
        crate::fillers::validate(&p.bias_filler())?;
        Ok(Embed {
            num_output: p.num_output() as usize,
            input_dim: p.input_dim() as usize,
            bias: p.bias_term(),
            weight_filler: p.weight_filler(),
            bias_filler: p.bias_filler(),
        })
    }

    fn index(&self, v: f32) -> Result<usize, String> {
        if v.fract() != 0.0 || v < 0.0 || v >= self.input_dim as f32 {
            return Err(format!(
                "embed input {v} is not an integer index in [0, {})",
                self.input_dim
            ));
        }
        Ok(v as usize)
    }
}

impl Layer for Embed {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let mut top = bottoms[0].clone();
        top.push(self.num_output);
        Ok(vec![top])
    }

    fn param_shapes(&self) -> Vec<Shape> {
        let mut shapes = vec![vec![self.input_dim, self.num_output]];
        if self.bias {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }

    fn fill_params(&self, params: &mut [Blob], rng: &mut crate::rng::Rng) {
        if let Some(w) = params.get_mut(0) {
            crate::fillers::fill(&self.weight_filler, w, rng);
        }
        if let Some(b) = params.get_mut(1) {
            crate::fillers::fill(&self.bias_filler, b, rng);
        }
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        params: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let n = self.num_output;
        for (i, &v) in bottoms[0].data.iter().enumerate() {
            let row = self.index(v)?;
            let out = &mut tops[0].data[i * n..(i + 1) * n];
            out.copy_from_slice(&params[0].data[row * n..(row + 1) * n]);
            if let Some(b) = params.get(1) {
                out.iter_mut().zip(&b.data).for_each(|(y, &c)| *y += c);
            }
        }
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        params: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        if propagate_down.first().copied().unwrap_or(false) {
            return Err("Embed cannot compute a gradient with respect to its indices".into());
        }
        let n = self.num_output;
        for (i, &v) in bottoms[0].data.iter().enumerate() {
            let row = self.index(v)?;
            let g = &tops[0].diff[i * n..(i + 1) * n];
            params[0].diff[row * n..(row + 1) * n]
                .iter_mut()
                .zip(g)
                .for_each(|(p, &d)| *p += d);
            if let Some(b) = params.get_mut(1) {
                b.diff.iter_mut().zip(g).for_each(|(p, &d)| *p += d);
            }
        }
        Ok(())
    }

    fn allow_force_backward(&self, _: usize) -> bool {
        false
    }

    fn forward_macs(&self, bottoms: &[Shape], _: &[Shape]) -> u64 {
        (count(&bottoms[0]) * self.num_output) as u64
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn looks_up_rows_and_accumulates_weight_gradients() {
        let mut t = TestLayer::new(
            "type: 'Embed' embed_param { num_output: 3 input_dim: 4 weight_filler { type: 'uniform' } }",
            Phase::Train,
            &[vec![2, 2]],
        );
        assert_eq!(t.tops[0].shape, vec![2, 2, 3]);
        t.bottoms[0].data = vec![3.0, 0.0, 3.0, 1.0];
        t.forward();
        let w = &t.params[0].data;
        let b = &t.params[1].data;
        assert!((t.tops[0].data[1] - (w[3 * 3 + 1] + b[1])).abs() < 1e-6);
        t.check_gradients(&[false], true, 1e-2, 1e-3, None);
        t.bottoms[0].data[0] = 4.0;
        let bottoms: Vec<&crate::blob::Blob> = t.bottoms.iter().collect();
        let mut ctx = crate::layers::RunContext {
            phase: Phase::Train,
            rng: &mut t.rng,
            param_propagate: &[],
        };
        assert!(t
            .layer
            .forward(&bottoms, &mut t.tops, &mut t.params, &mut ctx)
            .is_err());
    }
}
