//! ArgMax: the indices (and, with `out_max_val`, the values) of the `top_k` largest
//! entries, along `axis` or over everything after the first axis. Ties go to the
//! larger index (Caffe sorts (value, index) pairs in descending order). No gradient.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, count, Shape};

pub struct ArgMax {
    top_k: usize,
    out_max_val: bool,
    axis: Option<i32>,
    /// (entries compared, distance between them, resolved axis).
    dims: (usize, usize, Option<usize>),
}

impl ArgMax {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.argmax_param();
        if p.top_k() < 1 {
            return Err("argmax_param.top_k must be at least 1".into());
        }
        Ok(ArgMax {
            top_k: p.top_k() as usize,
            out_max_val: p.out_max_val(),
            axis: p.axis,
            dims: (0, 0, None),
        })
    }
}

impl Layer for ArgMax {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        if b.is_empty() {
            return Err("needs a bottom with at least one axis".into());
        }
        let mut shape = vec![1usize; b.len().max(3)];
        match self.axis {
            Some(a) => {
                let axis = canonical_axis(a, b.len())?;
                if b[axis] < self.top_k {
                    return Err(format!(
                        "top_k ({}) must be at most the size of axis {axis} ({})",
                        self.top_k, b[axis]
                    ));
                }
                shape[..b.len()].copy_from_slice(b);
                shape[axis] = self.top_k;
                self.dims = (b[axis], count(&b[axis + 1..]), Some(axis));
            }
            None => {
                let dim = count(&b[1..]);
                if dim < self.top_k {
                    return Err(format!(
                        "top_k ({}) must be at most the number of entries per item ({dim})",
                        self.top_k
                    ));
                }
                shape[0] = b[0];
                shape[2] = self.top_k;
                if self.out_max_val {
                    shape[1] = 2;
                }
                self.dims = (dim, 1, None);
            }
        }
        Ok(vec![shape])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let (dim, dist, axis) = self.dims;
        let k = self.top_k;
        let x = &bottoms[0].data;
        let top = &mut tops[0].data;
        let num = x.len().checked_div(dim).unwrap_or(0);
        let mut pairs: Vec<(f32, usize)> = Vec::with_capacity(dim);
        for i in 0..num {
            let (outer, inner) = (i / dist, i % dist);
            pairs.clear();
            pairs.extend((0..dim).map(|j| (x[(outer * dim + j) * dist + inner], j)));
            pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            for (j, &(value, index)) in pairs.iter().take(k).enumerate() {
                if axis.is_some() {
                    let at = (outer * k + j) * dist + inner;
                    top[at] = if self.out_max_val {
                        value
                    } else {
                        index as f32
                    };
                } else if self.out_max_val {
                    top[2 * i * k + j] = index as f32;
                    top[2 * i * k + k + j] = value;
                } else {
                    top[i * k + j] = index as f32;
                }
            }
        }
        Ok(())
    }

    fn allow_force_backward(&self, _: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    #[test]
    fn indices_values_and_ties() {
        let mut t = TestLayer::new(
            "type: 'ArgMax' argmax_param { top_k: 2 out_max_val: true }",
            Phase::Test,
            &[vec![2, 4]],
        );
        assert_eq!(t.tops[0].shape, vec![2, 2, 2]);
        t.bottoms[0].data = vec![0.1, 0.9, 0.3, 0.9, 5.0, -1.0, 2.0, 0.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![3.0, 1.0, 0.9, 0.9, 0.0, 2.0, 5.0, 2.0]);
    }

    #[test]
    fn along_an_axis() {
        let mut t = TestLayer::new(
            "type: 'ArgMax' argmax_param { axis: 1 }",
            Phase::Test,
            &[vec![1, 3, 2]],
        );
        assert_eq!(t.tops[0].shape, vec![1, 1, 2]);
        t.bottoms[0].data = vec![0.0, 5.0, 2.0, 1.0, 1.0, 3.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![1.0, 0.0]);
        let p =
            crate::layers::testing::layer_param("type: 'ArgMax' argmax_param { axis: 1 top_k: 4 }");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![1, 3, 2]]).is_err());
    }
}
