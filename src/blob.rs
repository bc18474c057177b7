//! Blob: an N-D f32 array with its gradient, as Caffe's Blob (data + diff).

use crate::shape::Shape;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blob {
    pub shape: Shape,
    pub data: Vec<f32>,
    /// The gradient of the loss with respect to `data` (same length).
    pub diff: Vec<f32>,
}

impl Blob {
    /// A zero-filled blob of this shape.
    pub fn new(shape: &[usize]) -> Self {
        let n = crate::shape::count(shape);
        Blob {
            shape: shape.to_vec(),
            data: vec![0.0; n],
            diff: vec![0.0; n],
        }
    }

    /// A blob holding `data`, with a zero gradient.
    pub fn from_data(shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(
            crate::shape::count(shape),
            data.len(),
            "data does not fit shape {shape:?}"
        );
        let diff = vec![0.0; data.len()];
        Blob {
            shape: shape.to_vec(),
            data,
            diff,
        }
    }

    pub fn count(&self) -> usize {
        self.data.len()
    }

    /// Product of the dimensions from `start` to `end` (exclusive).
    pub fn count_range(&self, start: usize, end: usize) -> usize {
        crate::shape::count(&self.shape[start..end])
    }

    /// Changes the shape, growing or shrinking the buffers (new values are 0).
    pub fn reshape(&mut self, shape: &[usize]) {
        let n = crate::shape::count(shape);
        self.shape = shape.to_vec();
        self.data.resize(n, 0.0);
        self.diff.resize(n, 0.0);
    }

    /// Dimension `axis`, counted from the end when negative (Caffe's `shape(i)`).
    pub fn dim(&self, axis: isize) -> usize {
        let i = if axis < 0 {
            self.shape.len() as isize + axis
        } else {
            axis
        };
        self.shape[i as usize]
    }

    /// The data as a candle tensor (a copy), for users of the library API.
    pub fn data_tensor(&self) -> candle_core::Result<candle_core::Tensor> {
        candle_core::Tensor::from_slice(
            &self.data,
            self.shape.as_slice(),
            &candle_core::Device::Cpu,
        )
    }

    /// The gradient as a candle tensor (a copy).
    pub fn diff_tensor(&self) -> candle_core::Result<candle_core::Tensor> {
        candle_core::Tensor::from_slice(
            &self.diff,
            self.shape.as_slice(),
            &candle_core::Device::Cpu,
        )
    }

    /// A blob from a candle tensor (any float dtype; converted to f32).
    pub fn from_tensor(t: &candle_core::Tensor) -> candle_core::Result<Self> {
        let data = t
            .to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(Blob::from_data(t.dims(), data))
    }
}
