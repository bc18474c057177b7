//! Accuracy: the fraction of positions whose label is among the `top_k` highest
//! scores along `axis` (ties count against the label, as in Caffe), skipping
//! `ignore_label`; an optional second top gives the accuracy of each class.
//! It has no gradient.

use super::loss_norm::label_index;
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, count, split_at_axis, Shape};

pub struct Accuracy {
    top_k: usize,
    axis: i32,
    ignore_label: Option<i32>,
    tops: usize,
    dims: (usize, usize, usize),
}

impl Accuracy {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.accuracy_param();
        Ok(Accuracy {
            top_k: p.top_k() as usize,
            axis: p.axis(),
            ignore_label: p.ignore_label,
            tops: param.top.len().clamp(1, 2),
            dims: (0, 0, 0),
        })
    }
}

impl Layer for Accuracy {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((2, 2), (1, 2))
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let axis = canonical_axis(self.axis, bottoms[0].len())?;
        self.dims = split_at_axis(&bottoms[0], axis);
        let (o, c, i) = self.dims;
        if self.top_k > c {
            return Err(format!(
                "top_k ({}) must be less than or equal to the number of classes ({c})",
                self.top_k
            ));
        }
        if o * i != count(&bottoms[1]) {
            return Err(format!(
                "number of labels must match number of predictions: predictions {:?} give {} positions along axis {axis}, labels {:?} have {}",
                bottoms[0],
                o * i,
                bottoms[1],
                count(&bottoms[1])
            ));
        }
        let mut shapes = vec![vec![], vec![c]];
        shapes.truncate(self.tops);
        Ok(shapes)
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let (o, c, i) = self.dims;
        let (scores, labels) = (&bottoms[0].data, &bottoms[1].data);
        let mut per_class_hits = vec![0usize; c];
        let mut per_class_count = vec![0usize; c];
        let (mut hits, mut total) = (0usize, 0usize);
        for n in 0..o {
            for k in 0..i {
                let label = labels[n * i + k];
                if self.ignore_label.is_some_and(|l| label as i32 == l) {
                    continue;
                }
                let l = label_index(label, c)?;
                per_class_count[l] += 1;
                let truth = scores[(n * c + l) * i + k];
                // The true class itself is counted once among the "at least as good".
                let better = (0..c)
                    .filter(|&ch| scores[(n * c + ch) * i + k] >= truth)
                    .count();
                if better <= self.top_k {
                    hits += 1;
                    per_class_hits[l] += 1;
                }
                total += 1;
            }
        }
        tops[0].data[0] = if total == 0 {
            0.0
        } else {
            hits as f32 / total as f32
        };
        if let Some(t) = tops.get_mut(1) {
            for (v, (&h, &n)) in t
                .data
                .iter_mut()
                .zip(per_class_hits.iter().zip(&per_class_count))
            {
                *v = if n == 0 { 0.0 } else { h as f32 / n as f32 };
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
    fn top_k_ties_ignore_label_and_per_class() {
        let mut t = TestLayer::new(
            "type: 'Accuracy' top: 'a' top: 'per_class' accuracy_param { top_k: 2 ignore_label: 9 }",
            Phase::Test,
            &[vec![4, 3], vec![4]],
        );
        t.bottoms[0].data = vec![
            0.1, 0.5, 0.4, // label 2: second best → hit
            0.6, 0.3, 0.1, // label 2: third → miss
            0.5, 0.5, 0.5, // label 0: everything ties → miss
            0.0, 0.0, 0.0, // ignored
        ];
        t.bottoms[1].data = vec![2.0, 2.0, 0.0, 9.0];
        t.forward();
        assert!((t.tops[0].data[0] - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(t.tops[1].data, vec![0.0, 0.0, 0.5]);
    }

    #[test]
    fn spatial_axis_and_errors() {
        let mut t = TestLayer::new(
            "type: 'Accuracy'",
            Phase::Test,
            &[vec![1, 2, 2], vec![1, 2]],
        );
        t.bottoms[0].data = vec![1.0, 0.0, 0.0, 1.0];
        t.bottoms[1].data = vec![0.0, 0.0];
        t.forward();
        assert_eq!(t.tops[0].data[0], 0.5);
        let p = crate::layers::testing::layer_param("type: 'Accuracy' accuracy_param { top_k: 4 }");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3], vec![2]]).is_err());
        let p = crate::layers::testing::layer_param("type: 'Accuracy'");
        let mut l = crate::layers::create(&p, &Default::default()).unwrap();
        assert!(l.reshape(&[vec![2, 3], vec![3]]).is_err());
    }
}
