//! DummyData: tops of given shapes (`shape`, or the legacy num/channels/height/
//! width) filled by `data_filler`s: none means constant 0, one serves every top,
//! or one per top. Constant tops are filled once; the others on every forward.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::{FillerParameter, LayerParameter};
use crate::shape::Shape;

pub struct DummyData {
    shapes: Vec<Shape>,
    fillers: Vec<FillerParameter>,
    filled: bool,
}

impl DummyData {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.dummy_data_param();
        let tops = param.top.len();
        let per_top = |n: usize| n == 1 || n == tops;
        if !(p.data_filler.is_empty() || per_top(p.data_filler.len())) {
            return Err(format!(
                "dummy_data_param gives {} data_filler(s); give none, one, or one per top ({tops})",
                p.data_filler.len()
            ));
        }
        for f in &p.data_filler {
            crate::fillers::validate(f)?;
        }
        let legacy = [&p.num, &p.channels, &p.height, &p.width];
        let shapes = if legacy.iter().any(|v| !v.is_empty()) {
            if !p.shape.is_empty() {
                return Err(
                    "give either dummy_data_param.shape or num/channels/height/width, not both"
                        .into(),
                );
            }
            if legacy.iter().any(|v| !per_top(v.len())) {
                return Err(format!(
                    "num, channels, height and width must each be given once or once per top ({tops})"
                ));
            }
            let pick = |v: &Vec<u32>, i: usize| v[if v.len() == 1 { 0 } else { i }] as usize;
            (0..tops)
                .map(|i| legacy.iter().map(|v| pick(v, i)).collect())
                .collect()
        } else {
            if !per_top(p.shape.len()) {
                return Err(format!(
                    "dummy_data_param must give `shape` once or once per top ({tops}), but gives it {} times",
                    p.shape.len()
                ));
            }
            (0..tops)
                .map(|i| {
                    let s = &p.shape[if p.shape.len() == 1 { 0 } else { i }];
                    s.dim
                        .iter()
                        .map(|&d| {
                            usize::try_from(d).map_err(|_| {
                                format!("dummy data shape has a negative dimension {d}")
                            })
                        })
                        .collect::<Result<Shape, String>>()
                })
                .collect::<Result<Vec<Shape>, String>>()?
        };
        Ok(DummyData {
            shapes,
            fillers: p.data_filler.clone(),
            filled: false,
        })
    }

    fn filler(&self, top: usize) -> FillerParameter {
        match self.fillers.len() {
            0 => FillerParameter::default(),
            1 => self.fillers[0].clone(),
            _ => self.fillers[top].clone(),
        }
    }
}

impl Layer for DummyData {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::range((0, 0), (1, usize::MAX))
    }

    fn reshape(&mut self, _: &[Shape]) -> Result<Vec<Shape>, String> {
        Ok(self.shapes.clone())
    }

    fn forward(
        &mut self,
        _: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        ctx: &mut RunContext,
    ) -> Result<(), String> {
        for (i, t) in tops.iter_mut().enumerate() {
            let f = self.filler(i);
            if !self.filled || f.r#type() != "constant" {
                crate::fillers::fill(&f, t, ctx.rng);
            }
        }
        self.filled = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    #[test]
    fn shapes_and_fillers() {
        let mut t = TestLayer::new(
            "type: 'DummyData' top: 'a' top: 'b' dummy_data_param { \
             shape { dim: [2, 3] } shape { dim: 4 } \
             data_filler { type: 'constant' value: 7 } data_filler { type: 'uniform' min: 1 max: 2 } }",
            Phase::Train,
            &[],
        );
        assert_eq!(t.tops[0].shape, vec![2, 3]);
        assert_eq!(t.tops[1].shape, vec![4]);
        t.forward();
        assert!(t.tops[0].data.iter().all(|&v| v == 7.0));
        let first = t.tops[1].data.clone();
        assert!(first.iter().all(|&v| (1.0..2.0).contains(&v)));
        t.forward();
        assert_ne!(
            t.tops[1].data, first,
            "non-constant fillers refill on every forward"
        );
        let t = TestLayer::new(
            "type: 'DummyData' top: 'a' top: 'b' dummy_data_param { num: [2, 5] channels: 3 height: 1 width: 1 }",
            Phase::Train,
            &[],
        );
        assert_eq!(
            (t.tops[0].shape.clone(), t.tops[1].shape.clone()),
            (vec![2, 3, 1, 1], vec![5, 3, 1, 1])
        );
    }

    #[test]
    fn bad_settings_are_errors() {
        for text in [
            "type: 'DummyData' top: 'a' top: 'b' top: 'c' dummy_data_param { shape { dim: 1 } shape { dim: 2 } }",
            "type: 'DummyData' top: 'a' dummy_data_param { shape { dim: 1 } num: 1 }",
            "type: 'DummyData' top: 'a' dummy_data_param { shape { dim: -1 } }",
            "type: 'DummyData' top: 'a' dummy_data_param { shape { dim: 1 } data_filler { type: 'nope' } }",
        ] {
            assert!(crate::layers::create(&layer_param(text), &Default::default()).is_err(), "{text}");
        }
    }
}
