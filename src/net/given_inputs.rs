//! A forward pass with some source tops given by the caller (`caffers forward
//! --input`): which tops must be given, exact shape checks, and the order in which
//! given values and data layers' own batches meet.

use super::run::Net;
use crate::error::{Error, Result};
use crate::io::npy::Array;

/// `(2, 3, 4)`, numpy's way of writing a shape.
fn numpy_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    }
}

/// Refuses an array whose shape is not the blob's; the element count alone is not
/// enough (a channels-last image batch has the right count and the wrong layout).
pub fn check_array_shape(blob: &str, given: &[usize], expected: &[usize]) -> Result<(), String> {
    if given == expected {
        return Ok(());
    }
    let mut message = format!(
        "the array has shape {}, but blob `{blob}` has shape {}",
        numpy_shape(given),
        numpy_shape(expected)
    );
    if let ([n, h, w, c], [en, ec, eh, ew]) = (given, expected) {
        if (n, c, h, w) == (en, ec, eh, ew) {
            message.push_str(
                " — it looks like N×H×W×C (channels last); Caffe's blobs are N×C×H×W, so transpose it first (numpy: a.transpose(0, 3, 1, 2))",
            );
        }
    }
    Err(message)
}

impl Net {
    /// Runs forward with `given` values for source tops. Input layers' tops (and,
    /// when `data_layers_read` is false, data layers' tops too) have no other
    /// source and must be given unless empty; a data layer that reads its source
    /// runs first and a value given for its top then replaces its batch, as a
    /// caller's write into Caffe's blob after the layer's Forward would.
    pub fn forward_with(
        &mut self,
        given: &[(String, Array)],
        data_layers_read: bool,
    ) -> Result<f32> {
        let sources = self.input_blobs();
        let inputs = self.input_layer_tops();
        for (name, array) in given {
            if !sources.contains(name) {
                return Err(Error::Usage(format!(
                    "--input names `{name}`, which is not a top of an Input or data layer (those are: {})",
                    sources.join(", ")
                )));
            }
            let s = self.data_slot(name).expect("a source top has a slot");
            check_array_shape(name, &array.shape, &self.slots[s].shape)
                .map_err(|e| Error::Usage(format!("--input {name}: {e}")))?;
        }
        for name in &sources {
            let from_caller = inputs.contains(name) || !data_layers_read;
            let empty = self.blob_data(name).is_some_and(<[f32]>::is_empty);
            if from_caller && !empty && !given.iter().any(|(n, _)| n == name) {
                return Err(Error::Usage(format!(
                    "input blob `{name}` has no values; give them with --input {name}=FILE.npy"
                )));
            }
        }
        for i in 0..self.graph.layers.len() {
            self.forward_layer(i)?;
            let node = &self.graph.layers[i];
            if !node.bottoms.is_empty() || !node.layer.is_source() {
                continue;
            }
            for (k, top) in node.param.top.iter().enumerate() {
                if let Some((_, array)) = given.iter().find(|(n, _)| n == top) {
                    let s = node.top_slots[k];
                    self.slots[s].data.copy_from_slice(&array.data);
                }
            }
        }
        Ok(self.loss())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_shapes_pass_and_channels_last_gets_a_hint() {
        assert!(check_array_shape("data", &[2, 1, 3, 3], &[2, 1, 3, 3]).is_ok());
        let nhwc = check_array_shape("data", &[64, 28, 28, 1], &[64, 1, 28, 28]).unwrap_err();
        assert_eq!(
            nhwc,
            "the array has shape (64, 28, 28, 1), but blob `data` has shape (64, 1, 28, 28) — it looks like N×H×W×C (channels last); Caffe's blobs are N×C×H×W, so transpose it first (numpy: a.transpose(0, 3, 1, 2))"
        );
        let flat = check_array_shape("data", &[64, 784], &[64, 1, 28, 28]).unwrap_err();
        assert_eq!(
            flat,
            "the array has shape (64, 784), but blob `data` has shape (64, 1, 28, 28)"
        );
    }
}
