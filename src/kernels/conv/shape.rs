//! The geometry of one image's grouped 2-D convolution, in the convolution's own
//! terms: the *input* side (`geom.channels` × height × width) is what the kernel
//! slides over, the *output* side has `out_channels` × out_height × out_width,
//! and the weights are `[out_channels, channels / group, kernel_h, kernel_w]`.

use crate::kernels::im2col::Geom2d;

/// A grouped convolution of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub geom: Geom2d,
    pub out_channels: usize,
    pub group: usize,
}

impl ConvShape {
    pub fn input_len(&self) -> usize {
        self.geom.input_len()
    }

    pub fn output_len(&self) -> usize {
        self.out_channels * self.geom.col_cols()
    }

    pub fn weight_len(&self) -> usize {
        self.out_channels * self.geom.col_rows() / self.group
    }

    /// (output channels, column rows, output positions) of one group's GEMMs.
    pub fn group_dims(&self) -> (usize, usize, usize) {
        (
            self.out_channels / self.group,
            self.geom.col_rows() / self.group,
            self.geom.col_cols(),
        )
    }
}
