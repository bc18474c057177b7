//! Shapes of N-D blobs and the arithmetic on them that Caffe's Blob offers
//! (count, canonical axis, the split around an axis).

pub type Shape = Vec<usize>;

/// The most elements a blob may hold: Caffe's Blob::Reshape refuses more than
/// INT_MAX ("blob size exceeds INT_MAX"), and so does the net builder.
pub const MAX_COUNT: usize = i32::MAX as usize;

/// Number of elements of a shape. Saturates at `usize::MAX` instead of wrapping,
/// so an absurd shape never looks small; [`checked_count`] refuses it.
pub fn count(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

/// Number of elements of a shape, or an error when it exceeds [`MAX_COUNT`].
/// The product is computed without overflow: a zero dimension makes it 0 even
/// when the other dimensions' product would not fit.
pub fn checked_count(shape: &[usize]) -> Result<usize, String> {
    let n = count(shape);
    if n > MAX_COUNT {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        return Err(format!(
            "shape {} has {} elements: blob size exceeds INT_MAX ({MAX_COUNT}), Caffe's limit",
            dims.join(" "),
            if n == usize::MAX {
                "more than 2^64".to_string()
            } else {
                n.to_string()
            }
        ));
    }
    Ok(n)
}

/// Resolves a possibly negative axis index against `num_axes` (Caffe's CanonicalAxisIndex).
pub fn canonical_axis(axis: i32, num_axes: usize) -> Result<usize, String> {
    let n = num_axes as i64;
    let a = axis as i64;
    if a < -n || a >= n {
        return Err(format!(
            "axis {axis} is out of range for a blob with {num_axes} axes"
        ));
    }
    Ok(if a < 0 { (a + n) as usize } else { a as usize })
}

/// The (outer, channels, inner) split of a shape around `axis`: Caffe's
/// count(0, axis), shape(axis) and count(axis + 1). Axes past the end count as 1.
pub fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = count(&shape[..axis.min(shape.len())]);
    let channels = shape.get(axis).copied().unwrap_or(1);
    let inner = count(shape.get(axis + 1..).unwrap_or(&[]));
    (outer, channels, inner)
}

/// Formats a shape as Caffe prints it: `64 1 28 28 (50176)`.
pub fn shape_string(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("{} ({})", dims.join(" "), count(shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_around_an_axis() {
        assert_eq!(split_at_axis(&[2, 3, 4, 5], 1), (2, 3, 20));
        assert_eq!(split_at_axis(&[2, 3, 4, 5], 3), (24, 5, 1));
        assert_eq!(split_at_axis(&[6], 1), (6, 1, 1));
    }

    #[test]
    fn resolves_negative_axes() {
        assert_eq!(canonical_axis(-1, 4), Ok(3));
        assert_eq!(canonical_axis(1, 4), Ok(1));
        assert!(canonical_axis(4, 4).is_err());
        assert!(canonical_axis(-5, 4).is_err());
    }

    #[test]
    fn counts_never_wrap() {
        assert_eq!(count(&[1 << 20; 5]), usize::MAX);
        assert_eq!(count(&[1 << 40, 1 << 40, 0]), 0);
        assert_eq!(checked_count(&[2, 0, 1 << 40]), Ok(0));
        assert_eq!(checked_count(&[MAX_COUNT]), Ok(MAX_COUNT));
        let e = checked_count(&[1, 4, 4294967300, 4294967300]).unwrap_err();
        assert!(e.contains("exceeds INT_MAX"), "{e}");
        let e = checked_count(&[1 << 20; 5]).unwrap_err();
        assert!(e.contains("more than 2^64"), "{e}");
        assert!(checked_count(&[MAX_COUNT + 1]).is_err());
    }

    #[test]
    fn prints_as_caffe() {
        assert_eq!(shape_string(&[64, 1, 28, 28]), "64 1 28 28 (50176)");
    }
}
