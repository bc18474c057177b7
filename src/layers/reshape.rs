//! Reshape: replaces axes `axis` .. `axis + num_axes` of the bottom with
//! `reshape_param.shape`, where 0 copies the bottom's dimension and one −1 is
//! inferred from the count. Data unchanged.

use super::flatten::{copy_data, copy_diff};
use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{count, Shape};

pub struct Reshape {
    dims: Vec<i64>,
    axis: i32,
    num_axes: i32,
    copy_axes: Vec<usize>,
    inferred: Option<usize>,
    constant: usize,
}

impl Reshape {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.reshape_param();
        let dims = p.shape().dim;
        let mut copy_axes = Vec::new();
        let mut inferred = None;
        let mut constant = 1usize;
        for (i, &d) in dims.iter().enumerate() {
            match d {
                0 => copy_axes.push(i),
                -1 => {
                    if inferred.is_some() {
                        return Err("new shape contains multiple -1 dims".into());
                    }
                    inferred = Some(i);
                }
                d if d < -1 => return Err(format!("reshape dimension {d} is invalid (use ≥ -1)")),
                d => {
                    constant = usize::try_from(d)
                        .ok()
                        .and_then(|d| constant.checked_mul(d))
                        .ok_or_else(|| format!("reshape dimension {d} is too large"))?
                }
            }
        }
        if p.num_axes() < -1 {
            return Err(format!(
                "reshape_param.num_axes must be ≥ -1, got {}",
                p.num_axes()
            ));
        }
        Ok(Reshape {
            dims,
            axis: p.axis(),
            num_axes: p.num_axes(),
            copy_axes,
            inferred,
            constant,
        })
    }
}

impl Layer for Reshape {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let n = b.len() as i64;
        let start = if self.axis >= 0 {
            i64::from(self.axis)
        } else {
            n + i64::from(self.axis) + 1
        };
        if start < 0 || start > n {
            return Err(format!(
                "reshape_param.axis {} is out of range for a bottom with {n} axes",
                self.axis
            ));
        }
        let start = start as usize;
        let end = if self.num_axes == -1 {
            b.len()
        } else {
            start + self.num_axes as usize
        };
        if end > b.len() {
            return Err(format!(
                "axis {} + num_axes {} goes past the {} axes of the bottom",
                self.axis,
                self.num_axes,
                b.len()
            ));
        }
        let mut top: Shape = b[..start].to_vec();
        top.extend(self.dims.iter().map(|&d| d.max(0) as usize));
        top.extend_from_slice(&b[end..]);
        for &c in &self.copy_axes {
            if start + c >= b.len() {
                return Err(format!(
                    "new shape dimension {c} is 0 (copy), but the bottom has no axis {}",
                    start + c
                ));
            }
            top[start + c] = b[start + c];
        }
        if let Some(i) = self.inferred {
            let mut explicit = self.constant * count(&b[..start]) * count(&b[end..]);
            for &c in &self.copy_axes {
                explicit *= top[start + c];
            }
            if explicit == 0 || !count(b).is_multiple_of(explicit) {
                return Err(format!(
                    "bottom count ({}) is not divisible by the product of the other new dimensions ({explicit})",
                    count(b)
                ));
            }
            top[start + i] = count(b) / explicit;
        }
        if count(&top) != count(b) {
            return Err(format!(
                "output count {} ({top:?}) does not match input count {} ({b:?})",
                count(&top),
                count(b)
            ));
        }
        Ok(vec![top])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        copy_data(bottoms, tops);
        Ok(())
    }

    fn backward(
        &mut self,
        tops: &[&Blob],
        propagate_down: &[bool],
        bottoms: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        copy_diff(tops, propagate_down, bottoms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    fn shape_of(text: &str, bottom: &[usize]) -> Result<Vec<usize>, String> {
        let p = layer_param(text);
        let mut l = crate::layers::create(&p, &Default::default())?;
        l.reshape(&[bottom.to_vec()]).map(|mut v| v.remove(0))
    }

    #[test]
    fn copies_infers_and_replaces_ranges() {
        let b = [2, 3, 4, 5];
        let r = |s: &str| shape_of(&format!("type: 'Reshape' reshape_param {{ {s} }}"), &b);
        assert_eq!(r("shape { dim: [0, -1, 10] }"), Ok(vec![2, 6, 10]));
        assert_eq!(r("shape { dim: [-1] }"), Ok(vec![120]));
        assert_eq!(
            r("shape { dim: [2, 2] } axis: 2 num_axes: 1"),
            Ok(vec![2, 3, 2, 2, 5])
        );
        assert_eq!(
            r("shape { dim: [1] } axis: -1 num_axes: 0"),
            Ok(vec![2, 3, 4, 5, 1])
        );
        assert_eq!(r("shape { dim: [0, 0, -1] } axis: 1"), Ok(vec![2, 3, 4, 5]));
        assert!(r("shape { dim: [7, -1] }").is_err());
        assert!(r("shape { dim: [5, 5] }").is_err());
        assert!(r("shape { dim: [-1, -1] }").is_err());
        assert!(r("shape { dim: [-2] }").is_err());
        assert!(r("shape { dim: [1] } axis: 5").is_err());
    }

    #[test]
    fn gradients_pass_through() {
        let mut t = TestLayer::new(
            "type: 'Reshape' reshape_param { shape { dim: [0, -1] } }",
            Phase::Test,
            &[vec![2, 3, 2]],
        );
        assert_eq!(t.tops[0].shape, vec![2, 6]);
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
    }
}
