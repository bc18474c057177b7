//! InfogainLoss: SoftmaxWithLoss weighted by an infogain matrix H (C×C, from
//! `bottom[2]` or the binaryproto `infogain_loss_param.source`):
//! loss = −Σ_l H[label, l]·log(max(p_l, 1e−20)) / normalizer, with the softmax over
//! `infogain_loss_param.axis`, `ignore_label` and normalization as SoftmaxWithLoss.
//! With H = I it equals SoftmaxWithLoss.

use super::loss_norm::{label_index, normalization_mode, normalizer};
use super::multinomial_logistic_loss::LOG_THRESHOLD;
use super::softmax_math::softmax_forward;
use super::loss::LossFunction;
use crate::blob::Blob;
use crate::proto::{LayerParameter, NormalizationMode};
use crate::shape::{canonical_axis, count, split_at_axis, Shape};

pub struct InfogainLoss {
    axis: i32,
    ignore_label: Option<i32>,
    mode: NormalizationMode,
    /// H read from `source` when there is no third bottom.
    stored: Option<Vec<f32>>,
    dims: (usize, usize, usize),
    prob: Vec<f32>,
}

/// Reads H from a BlobProto file (Caffe's ReadProtoFromBinaryFile + FromProto).
fn read_blob_proto(path: &str) -> Result<Vec<f32>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read infogain matrix `{path}`: {e}"))?;
    let blob = crate::io::blob_proto::decode(&bytes)
        .map_err(|e| format!("infogain matrix `{path}` {e}"))?;
    Ok(blob.data)
}

impl InfogainLoss {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.infogain_loss_param();
        let stored = if param.bottom.len() < 3 {
            if p.source.is_none() {
                return Err("infogain matrix source must be specified (infogain_loss_param.source) when there is no third bottom".into());
            }
            Some(read_blob_proto(p.source())?)
        } else {
            None
        };
        Ok(InfogainLoss {
            axis: p.axis(),
            ignore_label: param.loss_param().ignore_label,
            mode: normalization_mode(param, NormalizationMode::Valid),
            stored,
            dims: (0, 0, 0),
            prob: Vec::new(),
        })
    }

    fn ignored(&self, label: f32) -> bool {
        self.ignore_label.is_some_and(|l| label as i32 == l)
    }
}

impl LossFunction for InfogainLoss {
    const BOTTOMS: (usize, usize) = (2, 3);
    const SECOND_TOP: bool = true;

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<(), String> {
        let axis = canonical_axis(self.axis, bottoms[0].len())?;
        self.dims = split_at_axis(&bottoms[0], axis);
        let (o, c, i) = self.dims;
        if o * i != count(&bottoms[1]) {
            return Err(format!(
                "number of labels must match number of predictions: predictions {:?} give {} positions, labels {:?} have {}",
                bottoms[0],
                o * i,
                bottoms[1],
                count(&bottoms[1])
            ));
        }
        let h = match (&self.stored, bottoms.get(2)) {
            (_, Some(s)) => count(s),
            (Some(v), None) => v.len(),
            (None, None) => 0,
        };
        if h != c * c {
            return Err(format!(
                "the infogain matrix has {h} values; it must be {c}×{c} for {c} classes"
            ));
        }
        self.prob = vec![0.0; count(&bottoms[0])];
        Ok(())
    }

    fn forward(&mut self, bottoms: &[&Blob], tops: &mut [Blob]) -> Result<f32, String> {
        let (o, c, i) = self.dims;
        softmax_forward(&bottoms[0].data, &mut self.prob, o, c, i);
        let h: &[f32] = match bottoms.get(2) {
            Some(b) => &b.data,
            None => self.stored.as_deref().unwrap_or(&[]),
        };
        let mut loss = 0.0f64;
        let mut valid = 0usize;
        for n in 0..o {
            for k in 0..i {
                let label = bottoms[1].data[n * i + k];
                if self.ignored(label) {
                    continue;
                }
                let l = label_index(label, c)?;
                for ch in 0..c {
                    let p = self.prob[(n * c + ch) * i + k].max(LOG_THRESHOLD);
                    loss -= f64::from(h[l * c + ch]) * f64::from(p.ln());
                }
                valid += 1;
            }
        }
        if let Some(t) = tops.get_mut(1) {
            t.data.copy_from_slice(&self.prob);
        }
        Ok((loss / f64::from(normalizer(self.mode, o, i, valid))) as f32)
    }

    fn backward(
        &mut self,
        weight: f32,
        propagate_down: &[bool],
        bottoms: &mut [Blob],
    ) -> Result<(), String> {
        if propagate_down.get(1).copied().unwrap_or(false) {
            return Err("InfogainLoss cannot backpropagate to label inputs".into());
        }
        if propagate_down.get(2).copied().unwrap_or(false) {
            return Err("InfogainLoss cannot backpropagate to infogain inputs".into());
        }
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let (o, c, i) = self.dims;
        let h: Vec<f32> = match bottoms.get(2) {
            Some(b) => b.data.clone(),
            None => self.stored.clone().unwrap_or_default(),
        };
        let row_sums: Vec<f32> = (0..c).map(|r| h[r * c..(r + 1) * c].iter().sum()).collect();
        let labels = bottoms[1].data.clone();
        let g = &mut bottoms[0].diff;
        let mut valid = 0usize;
        for n in 0..o {
            for k in 0..i {
                let label = labels[n * i + k];
                if self.ignored(label) {
                    for ch in 0..c {
                        g[(n * c + ch) * i + k] = 0.0;
                    }
                    continue;
                }
                let l = label_index(label, c)?;
                for ch in 0..c {
                    let at = (n * c + ch) * i + k;
                    g[at] = self.prob[at] * row_sums[l] - h[l * c + ch];
                }
                valid += 1;
            }
        }
        let scale = weight / normalizer(self.mode, o, i, valid);
        g.iter_mut().for_each(|d| *d *= scale);
        Ok(())
    }

    fn allow_force_backward(&self, bottom: usize) -> bool {
        bottom == 0
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::TestLayer;
    use crate::proto::Phase;

    const TEXT: &str = "type: 'InfogainLoss' bottom: 'x' bottom: 'label' bottom: 'H' loss_param { ignore_label: 1 }";

    #[test]
    fn gradients_with_a_general_matrix() {
        let mut t = TestLayer::new(TEXT, Phase::Test, &[vec![2, 3, 2], vec![2, 2], vec![3, 3]]);
        t.bottoms[1].data = vec![0.0, 1.0, 2.0, 2.0];
        t.bottoms[2].data = vec![1.0, 0.5, 0.0, 0.2, 1.0, 0.1, 0.0, 0.3, 2.0];
        t.check_gradients(&[true, false, false], false, 1e-2, 1e-2, None);
    }

    #[test]
    fn identity_matrix_matches_softmax_with_loss() {
        let mut t = TestLayer::new(TEXT, Phase::Test, &[vec![2, 3], vec![2], vec![3, 3]]);
        t.bottoms[1].data = vec![2.0, 0.0];
        t.bottoms[2].data = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let mut s = TestLayer::new(
            "type: 'SoftmaxWithLoss'",
            Phase::Test,
            &[vec![2, 3], vec![2]],
        );
        s.bottoms[0].data = t.bottoms[0].data.clone();
        s.bottoms[1].data = vec![2.0, 0.0];
        t.forward();
        s.forward();
        assert!((t.tops[0].data[0] - s.tops[0].data[0]).abs() < 1e-6);
    }

    #[test]
    fn a_missing_matrix_is_an_error() {
        let p = crate::layers::testing::layer_param("type: 'InfogainLoss' bottom: 'x' bottom: 'y'");
        assert!(crate::layers::create(&p, &Default::default()).is_err());
        let p = crate::layers::testing::layer_param(
            "type: 'InfogainLoss' bottom: 'x' bottom: 'y' infogain_loss_param { source: '/nonexistent/h.binaryproto' }",
        );
        assert!(crate::layers::create(&p, &Default::default()).is_err());
    }

    #[test]
    fn the_matrix_file_is_read_as_caffe_reads_blobs() {
        use prost::Message;
        let dir = std::env::temp_dir().join(format!("caffers-infogain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let h = dir.join("h.binaryproto");
        let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let bin = crate::io::blob_proto::BlobProtoBin {
            double_data: identity.to_vec(),
            ..crate::io::blob_proto::to_bin(&[1, 1, 3, 3], &[])
        };
        std::fs::write(&h, bin.encode_to_vec()).unwrap();
        let text = format!(
            "type: 'InfogainLoss' bottom: 'x' bottom: 'label' infogain_loss_param {{ source: '{}' }}",
            h.display()
        );
        let mut t = TestLayer::new(&text, Phase::Test, &[vec![2, 3], vec![2]]);
        t.bottoms[1].data = vec![2.0, 0.0];
        let mut s = TestLayer::new(TEXT, Phase::Test, &[vec![2, 3], vec![2], vec![3, 3]]);
        s.bottoms[0].data = t.bottoms[0].data.clone();
        s.bottoms[1].data = vec![2.0, 0.0];
        s.bottoms[2].data = identity.iter().map(|&v| v as f32).collect();
        t.forward();
        s.forward();
        assert!((t.tops[0].data[0] - s.tops[0].data[0]).abs() < 1e-6);
        // Fewer values than the shape holds: an error naming the file.
        std::fs::write(
            &h,
            crate::io::blob_proto::to_bin(&[3, 3], &[1.0]).encode_to_vec(),
        )
        .unwrap();
        let p = crate::layers::testing::layer_param(&text);
        let e = crate::layers::create(&p, &Default::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("h.binaryproto"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
