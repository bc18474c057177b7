//! Caffe's fillers (include/caffe/filler.hpp): how parameter blobs and DummyData
//! tops are initialised. Seeded through [`Rng`], so a net built twice with the same
//! seed is identical.

use crate::blob::Blob;
use crate::error::did_you_mean;
use crate::proto::{FillerParameter, VarianceNorm};
use crate::rng::Rng;

pub const FILLER_TYPES: &[&str] = &[
    "constant",
    "uniform",
    "gaussian",
    "positive_unitball",
    "xavier",
    "msra",
    "bilinear",
];

/// Checks a filler's settings when a layer is built, so bad ones fail early.
pub fn validate(f: &FillerParameter) -> Result<(), String> {
    let ty = f.r#type();
    if !FILLER_TYPES.contains(&ty) {
        let hint = did_you_mean(ty, FILLER_TYPES.iter().copied())
            .map(|s| format!(" — did you mean `{s}`?"))
            .unwrap_or_else(|| format!(" (known: {})", FILLER_TYPES.join(", ")));
        return Err(format!("unknown filler type `{ty}`{hint}"));
    }
    if ty == "uniform" && f.min() > f.max() {
        return Err(format!(
            "uniform filler has min {} > max {}",
            f.min(),
            f.max()
        ));
    }
    if ty == "gaussian" && f.std() < 0.0 {
        return Err("gaussian filler needs std ≥ 0".into());
    }
    Ok(())
}

/// The fan Xavier and MSRA scale by (Caffe: fan_in = count/shape(0), fan_out =
/// count/shape(1)).
fn fan(blob: &Blob, norm: VarianceNorm) -> f32 {
    let count = blob.count() as f32;
    let fan_in = count / blob.shape.first().copied().unwrap_or(1).max(1) as f32;
    let fan_out = if blob.shape.len() > 1 {
        count / blob.shape[1].max(1) as f32
    } else {
        count
    };
    match norm {
        VarianceNorm::FanIn => fan_in,
        VarianceNorm::FanOut => fan_out,
        VarianceNorm::Average => (fan_in + fan_out) / 2.0,
    }
}

/// Fills `blob.data` as `f` describes.
pub fn fill(f: &FillerParameter, blob: &mut Blob, rng: &mut Rng) {
    let data = &mut blob.data;
    match f.r#type() {
        "uniform" => data
            .iter_mut()
            .for_each(|v| *v = rng.uniform(f.min(), f.max())),
        "gaussian" => {
            data.iter_mut()
                .for_each(|v| *v = rng.gaussian(f.mean(), f.std()));
            if f.sparse() >= 0 {
                // Keep each weight with probability sparse / num_outputs.
                let outputs = blob.shape.first().copied().unwrap_or(1).max(1) as f64;
                let keep = f.sparse() as f64 / outputs;
                data.iter_mut().for_each(|v| {
                    if !rng.bernoulli(keep) {
                        *v = 0.0;
                    }
                });
            }
        }
        "positive_unitball" => {
            data.iter_mut().for_each(|v| *v = rng.uniform(0.0, 1.0));
            let rows = blob.shape.first().copied().unwrap_or(1).max(1);
            let dim = data.len() / rows;
            if dim > 0 {
                for row in data.chunks_mut(dim) {
                    let sum: f32 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= sum);
                }
            }
        }
        "xavier" => {
            let scale = (3.0 / fan(blob, f.variance_norm())).sqrt();
            blob.data
                .iter_mut()
                .for_each(|v| *v = rng.uniform(-scale, scale));
        }
        "msra" => {
            let std = (2.0 / fan(blob, f.variance_norm())).sqrt();
            blob.data
                .iter_mut()
                .for_each(|v| *v = rng.gaussian(0.0, std));
        }
        "bilinear" => {
            // Upsampling weights for Deconvolution: a tent over each kernel.
            let w = *blob.shape.last().unwrap_or(&1);
            let h = if blob.shape.len() >= 2 {
                blob.shape[blob.shape.len() - 2]
            } else {
                1
            };
            let fk = (w as f32 / 2.0).ceil();
            let c = (w as f32 - 1.0) / (2.0 * fk);
            for (i, v) in blob.data.iter_mut().enumerate() {
                let x = (i % w) as f32;
                let y = ((i / w) % h) as f32;
                *v = (1.0 - (x / fk - c).abs()) * (1.0 - (y / fk - c).abs());
            }
        }
        // "constant", and the default when no filler is given.
        _ => data.iter_mut().for_each(|v| *v = f.value()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filler(text: &str) -> FillerParameter {
        let src = crate::error::SourceFile::new("t", text);
        crate::text::from_message(&src, &crate::text::parse(&src).unwrap()).unwrap()
    }

    fn stats(v: &[f32]) -> (f32, f32) {
        let n = v.len() as f32;
        let mean = v.iter().sum::<f32>() / n;
        (
            mean,
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt(),
        )
    }

    #[test]
    fn default_filler_is_zero_constant() {
        let mut b = Blob::new(&[3, 4]);
        b.data.iter_mut().for_each(|v| *v = 5.0);
        fill(&FillerParameter::default(), &mut b, &mut Rng::new(1));
        assert!(b.data.iter().all(|&v| v == 0.0));
        fill(
            &filler("type: 'constant' value: 2.5"),
            &mut b,
            &mut Rng::new(1),
        );
        assert!(b.data.iter().all(|&v| v == 2.5));
    }

    #[test]
    fn xavier_and_msra_scale_by_fan_in() {
        let mut b = Blob::new(&[100, 50, 3, 3]); // fan_in 450
        fill(&filler("type: 'xavier'"), &mut b, &mut Rng::new(2));
        let bound = (3.0f32 / 450.0).sqrt();
        assert!(b.data.iter().all(|v| v.abs() <= bound));
        let (_, std) = stats(&b.data);
        assert!((std - bound / 3f32.sqrt()).abs() < 0.01 * bound, "{std}");
        fill(
            &filler("type: 'msra' variance_norm: FAN_OUT"),
            &mut b,
            &mut Rng::new(3),
        ); // fan_out 900
        let (mean, std) = stats(&b.data);
        assert!(
            mean.abs() < 0.002 && (std - (2.0f32 / 900.0).sqrt()).abs() < 0.001,
            "{mean} {std}"
        );
    }

    #[test]
    fn gaussian_sparse_and_unitball_and_bilinear() {
        let mut b = Blob::new(&[10, 1000]);
        fill(
            &filler("type: 'gaussian' std: 0.5 sparse: 2"),
            &mut b,
            &mut Rng::new(4),
        );
        let nonzero = b.data.iter().filter(|&&v| v != 0.0).count() as f32 / b.count() as f32;
        assert!((nonzero - 0.2).abs() < 0.02, "{nonzero}");
        fill(
            &filler("type: 'positive_unitball'"),
            &mut b,
            &mut Rng::new(5),
        );
        for row in b.data.chunks(1000) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        let mut k = Blob::new(&[1, 1, 4, 4]);
        fill(&filler("type: 'bilinear'"), &mut k, &mut Rng::new(6));
        // K = 4: f = 2, c = 0.75, so each axis weighs [0.25, 0.75, 0.75, 0.25].
        let row = [0.25, 0.75, 0.75, 0.25];
        for (i, v) in k.data.iter().enumerate() {
            let expected = row[i % 4] * row[i / 4];
            assert!((v - expected).abs() < 1e-6, "{i}: {v} vs {expected}");
        }
        assert!(validate(&filler("type: 'xavir'"))
            .unwrap_err()
            .contains("did you mean `xavier`"));
    }
}
