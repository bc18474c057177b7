//! Shapes of N-D blobs and the arithmetic on them that Caffe's Blob offers
//! (count, canonical axis, the split around an axis).

pub type Shape = Vec<usize>;

/// Number of elements of a shape.
pub fn count(shape: &[usize]) -> usize {
    shape.iter().product()
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
    let outer = shape.iter().take(axis).product();
    let channels = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.iter().skip(axis + 1).product();
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
    fn prints_as_caffe() {
        assert_eq!(shape_string(&[64, 1, 28, 28]), "64 1 28 28 (50176)");
    }
}
