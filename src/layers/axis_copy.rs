//! Copying a block of slices along one axis between two blobs viewed as
//! (outer, axis, inner): what Concat, Slice and Crop move data with.

/// Copies `len` slices: `dst[n, dst_off + j, :] = src[n, src_off + j, :]` for every
/// outer index `n` and `j < len`, where the axis sizes are `src_axis` and `dst_axis`.
#[allow(clippy::too_many_arguments)]
pub fn copy_axis_block(
    src: &[f32],
    src_axis: usize,
    src_off: usize,
    dst: &mut [f32],
    dst_axis: usize,
    dst_off: usize,
    len: usize,
    outer: usize,
    inner: usize,
) {
    let width = len * inner;
    for n in 0..outer {
        let s = (n * src_axis + src_off) * inner;
        let d = (n * dst_axis + dst_off) * inner;
        dst[d..d + width].copy_from_slice(&src[s..s + width]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_middle_block() {
        // outer 2, src axis 3, inner 2; take slices 1..3 into a dst axis of 2.
        let src: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut dst = vec![0.0; 8];
        copy_axis_block(&src, 3, 1, &mut dst, 2, 0, 2, 2, 2);
        assert_eq!(dst, vec![2.0, 3.0, 4.0, 5.0, 8.0, 9.0, 10.0, 11.0]);
    }
}
