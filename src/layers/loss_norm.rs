//! What loss layers share: the normalization mode (with the legacy `normalize`),
//! Caffe's normalizer, the first-axis check of LossLayer::Reshape, and reading a
//! class label from a float blob.

use crate::proto::{LayerParameter, NormalizationMode};
use crate::shape::Shape;

/// The mode a loss layer normalizes with: `normalization` when set, else the legacy
/// `normalize` (true = VALID, false = BATCH_SIZE), else `default`.
pub fn normalization_mode(param: &LayerParameter, default: NormalizationMode) -> NormalizationMode {
    let lp = param.loss_param();
    match (lp.normalization, lp.normalize) {
        (Some(mode), _) => mode,
        (None, Some(true)) => NormalizationMode::Valid,
        (None, Some(false)) => NormalizationMode::BatchSize,
        (None, None) => default,
    }
}

/// Caffe's LossLayer get_normalizer: what the summed loss is divided by, at least 1.
/// `valid` is the number of positions that do not carry the ignore label.
pub fn normalizer(mode: NormalizationMode, outer: usize, inner: usize, valid: usize) -> f32 {
    let n = match mode {
        NormalizationMode::Full => (outer * inner) as f32,
        NormalizationMode::Valid => valid as f32,
        NormalizationMode::BatchSize => outer as f32,
        NormalizationMode::None => 1.0,
    };
    n.max(1.0)
}

/// LossLayer::Reshape's check: the predictions and the labels (or targets) have the
/// same first dimension.
pub fn check_same_num(bottoms: &[Shape]) -> Result<(), String> {
    let a = bottoms[0].first().copied().unwrap_or(1);
    let b = bottoms[1].first().copied().unwrap_or(1);
    if a != b {
        return Err(format!(
            "the data and label should have the same first dimension, but have {a} and {b} (shapes {:?} and {:?})",
            bottoms[0], bottoms[1]
        ));
    }
    Ok(())
}

/// A label value as Caffe reads it (`static_cast<int>`), checked to be a class
/// index below `classes`.
pub fn label_index(value: f32, classes: usize) -> Result<usize, String> {
    let v = value as i64;
    if !value.is_finite() || v < 0 || v as u64 >= classes as u64 {
        return Err(format!(
            "label {value} is out of range: labels must lie in [0, {classes})"
        ));
    }
    Ok(v as usize)
}

/// The loss weight Caffe stores in a loss top's diff, for backward.
pub fn loss_weight(top: &crate::blob::Blob) -> f32 {
    top.diff.first().copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testing::layer_param;

    #[test]
    fn legacy_normalize_and_defaults() {
        let v = NormalizationMode::Valid;
        let p = layer_param("type: 'SoftmaxWithLoss'");
        assert_eq!(normalization_mode(&p, v), v);
        let p = layer_param("type: 'SoftmaxWithLoss' loss_param { normalize: false }");
        assert_eq!(normalization_mode(&p, v), NormalizationMode::BatchSize);
        let p = layer_param("type: 'X' loss_param { normalize: true }");
        assert_eq!(normalization_mode(&p, NormalizationMode::BatchSize), v);
        let p = layer_param("type: 'X' loss_param { normalize: false normalization: FULL }");
        assert_eq!(normalization_mode(&p, v), NormalizationMode::Full);
    }

    #[test]
    fn normalizers_follow_the_mode_and_never_drop_below_one() {
        assert_eq!(normalizer(NormalizationMode::Full, 2, 9, 5), 18.0);
        assert_eq!(normalizer(NormalizationMode::Valid, 2, 9, 5), 5.0);
        assert_eq!(normalizer(NormalizationMode::Valid, 2, 9, 0), 1.0);
        assert_eq!(normalizer(NormalizationMode::BatchSize, 2, 9, 5), 2.0);
        assert_eq!(normalizer(NormalizationMode::None, 2, 9, 5), 1.0);
    }

    #[test]
    fn labels_are_truncated_and_range_checked() {
        assert_eq!(label_index(2.7, 3), Ok(2));
        assert!(label_index(3.0, 3).is_err());
        assert!(label_index(-1.0, 3).is_err());
        assert!(label_index(f32::NAN, 3).is_err());
    }
}
