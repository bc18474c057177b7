//! Tile: repeats the bottom `tiles` times along `axis`.

use super::{BlobCounts, Layer, RunContext};
use crate::blob::Blob;
use crate::proto::LayerParameter;
use crate::shape::{canonical_axis, count, Shape};

pub struct Tile {
    axis: i32,
    tiles: usize,
    outer: usize,
    inner: usize,
}

impl Tile {
    pub fn new(param: &LayerParameter) -> Result<Self, String> {
        let p = param.tile_param();
        if p.tiles() < 1 {
            return Err(format!(
                "tile_param.tiles must be positive, got {}",
                p.tiles()
            ));
        }
        Ok(Tile {
            axis: p.axis(),
            tiles: p.tiles() as usize,
            outer: 0,
            inner: 0,
        })
    }
}

impl Layer for Tile {
    fn blob_counts(&self) -> BlobCounts {
        BlobCounts::exact(1, 1)
    }

    fn reshape(&mut self, bottoms: &[Shape]) -> Result<Vec<Shape>, String> {
        let b = &bottoms[0];
        let axis = canonical_axis(self.axis, b.len())?;
        self.outer = count(&b[..axis]);
        self.inner = count(&b[axis..]);
        let mut top = b.clone();
        top[axis] *= self.tiles;
        Ok(vec![top])
    }

    fn forward(
        &mut self,
        bottoms: &[&Blob],
        tops: &mut [Blob],
        _: &mut [Blob],
        _: &mut RunContext,
    ) -> Result<(), String> {
        let (n, x, y) = (self.inner, &bottoms[0].data, &mut tops[0].data);
        for o in 0..self.outer {
            for t in 0..self.tiles {
                let d = (o * self.tiles + t) * n;
                y[d..d + n].copy_from_slice(&x[o * n..(o + 1) * n]);
            }
        }
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
        if !propagate_down.first().copied().unwrap_or(false) {
            return Ok(());
        }
        let (n, dy, dx) = (self.inner, &tops[0].diff, &mut bottoms[0].diff);
        for o in 0..self.outer {
            let g = &mut dx[o * n..(o + 1) * n];
            g.copy_from_slice(&dy[o * self.tiles * n..(o * self.tiles + 1) * n]);
            for t in 1..self.tiles {
                let s = (o * self.tiles + t) * n;
                g.iter_mut().zip(&dy[s..s + n]).for_each(|(a, &d)| *a += d);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::layers::testing::{layer_param, TestLayer};
    use crate::proto::Phase;

    #[test]
    fn repeats_and_sums_gradients() {
        let mut t = TestLayer::new(
            "type: 'Tile' tile_param { axis: 1 tiles: 2 }",
            Phase::Test,
            &[vec![2, 2]],
        );
        assert_eq!(t.tops[0].shape, vec![2, 4]);
        t.bottoms[0].data = vec![1.0, 2.0, 3.0, 4.0];
        t.forward();
        assert_eq!(t.tops[0].data, vec![1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
        let mut t = TestLayer::new(
            "type: 'Tile' tile_param { axis: 0 tiles: 3 }",
            Phase::Test,
            &[vec![2, 3]],
        );
        t.check_gradients(&[true], false, 1e-2, 1e-3, None);
        assert!(crate::layers::create(&layer_param("type: 'Tile'"), &Default::default()).is_err());
    }
}
