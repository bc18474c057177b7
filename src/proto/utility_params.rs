//! Parameters of the utility layers: Concat, Slice, Eltwise, Flatten, Reshape,
//! Reduction, ArgMax, Softmax, Tile, Parameter and Python.

use super::{BlobShape, Engine};

caffe_message! {
    /// Concat: joins its bottoms along an axis.
    pub struct ConcatParameter {
        opt axis: i32 = 1;
        /// Deprecated alias of `axis` (no negative values).
        opt concat_dim: u32 = 1;
    }
}

caffe_message! {
    /// Slice: splits its bottom along an axis.
    pub struct SliceParameter {
        opt axis: i32 = 1;
        /// Where to cut; none means equal parts, one per top.
        rep slice_point: u32;
        /// Deprecated alias of `axis` (no negative values).
        opt slice_dim: u32 = 1;
    }
}

caffe_message! {
    /// Eltwise: element-wise product, (weighted) sum or maximum of its bottoms.
    pub struct EltwiseParameter {
        opt operation: EltwiseOp = EltwiseOp::Sum;
        /// One coefficient per bottom (SUM only).
        rep coeff: f32;
        /// Use the slower, stabler gradient for PROD.
        opt stable_prod_grad: bool = true;
    }
}

caffe_enum! {
    /// The operation of an Eltwise layer.
    pub enum EltwiseOp { Prod = 0 => "PROD", Sum = 1 => "SUM", Max = 2 => "MAX" }
}

caffe_message! {
    /// Flatten: merges axes `axis` to `end_axis` into one.
    pub struct FlattenParameter {
        opt axis: i32 = 1;
        opt end_axis: i32 = -1;
    }
}

caffe_message! {
    /// Reshape: 0 copies a bottom dimension, −1 infers one dimension.
    pub struct ReshapeParameter {
        msg shape: BlobShape;
        /// First bottom axis replaced by `shape`.
        opt axis: i32 = 0;
        /// Number of bottom axes replaced; −1 = all from `axis`.
        opt num_axes: i32 = -1;
    }
}

caffe_message! {
    /// Reduction: reduces every axis from `axis` on to a scalar.
    pub struct ReductionParameter {
        opt operation: ReductionOp = ReductionOp::Sum;
        opt axis: i32 = 0;
        /// Multiplies the output.
        opt coeff: f32 = 1.0;
    }
}

caffe_enum! {
    /// The operation of a Reduction layer.
    pub enum ReductionOp { Sum = 1 => "SUM", Asum = 2 => "ASUM", Sumsq = 3 => "SUMSQ", Mean = 4 => "MEAN" }
}

caffe_message! {
    /// ArgMax: indices (and optionally values) of the top-k entries.
    pub struct ArgMaxParameter {
        /// Output (index, value) pairs.
        opt out_max_val: bool = false;
        opt top_k: u32 = 1;
        /// When unset, maximise over all axes after the first.
        opt axis: i32 = 0;
    }
}

caffe_message! {
    /// Softmax (also used by SoftmaxWithLoss).
    pub struct SoftmaxParameter {
        opt engine: Engine = Engine::Default;
        opt axis: i32 = 1;
    }
}

caffe_message! {
    /// Tile: repeats the bottom along an axis.
    pub struct TileParameter {
        opt axis: i32 = 1;
        opt tiles: i32 = 0;
    }
}

caffe_message! {
    /// Parameter: exposes a learned blob of the given shape as its top.
    pub struct ParameterParameter {
        msg shape: BlobShape;
    }
}

caffe_message! {
    /// Python: a layer implemented in Python (not supported by caffers).
    pub struct PythonParameter {
        string module = "";
        string layer = "";
        /// Handed to the layer's `param_str` attribute before setup.
        string param_str = "";
        opt share_in_parallel: bool = false;
    }
}
