//! Moving weights between a running net and `.caffemodel` files, by layer name, as
//! Caffe's CopyTrainedLayersFrom and ToProto do.

use std::path::Path;

use super::run::Net;
use crate::blob::Blob;
use crate::error::{Error, Result};
use crate::io::atomic::write_atomically;
use crate::io::caffemodel::{caffemodel_bytes, read_caffemodel, StoredLayer};

impl Net {
    /// Copies every stored layer's blobs into the layer of the same name, checking
    /// shapes (legacy 4-D shapes compare right-aligned). Stored layers the net does
    /// not have are skipped, as Caffe does. Returns the names of the layers copied.
    pub fn copy_trained_layers(
        &mut self,
        stored: &[StoredLayer],
        file: &str,
    ) -> Result<Vec<String>> {
        let mut copied = Vec::new();
        for s in stored {
            let Some(li) = self.graph.layers.iter().position(|l| l.name() == s.name) else {
                continue;
            };
            let ids = self.layer_params[li].clone();
            if ids.len() != s.blobs.len() {
                return Err(Error::file(
                    file,
                    format!(
                        "layer `{}` has {} blob(s) in the file but {} in the net — is this the model the weights were trained for?",
                        s.name,
                        s.blobs.len(),
                        ids.len()
                    ),
                ));
            }
            for (k, (&p, b)) in ids.iter().zip(&s.blobs).enumerate() {
                let target = &mut self.params[p];
                if !b.fits(&target.shape) {
                    return Err(Error::file(
                        file,
                        format!(
                            "layer `{}` blob {k}: the file has shape {:?}, the net expects {:?}",
                            s.name,
                            b.shape(),
                            target.shape
                        ),
                    ));
                }
                target.data.copy_from_slice(&b.data);
            }
            copied.push(s.name.clone());
        }
        Ok(copied)
    }

    /// Loads weights from a .caffemodel file (see [`Net::copy_trained_layers`]).
    pub fn load_caffemodel(&mut self, path: &Path) -> Result<Vec<String>> {
        let stored = read_caffemodel(path)?;
        self.copy_trained_layers(&stored, &path.display().to_string())
    }

    /// The net's weights as caffemodel bytes: every layer, with its blobs (layers
    /// sharing a blob each store a copy, as Caffe's ToProto does).
    pub fn caffemodel_bytes(&self) -> Vec<u8> {
        let layers: Vec<(String, String, Vec<&Blob>)> = self
            .graph
            .layers
            .iter()
            .enumerate()
            .map(|(li, l)| {
                (
                    l.name().to_string(),
                    l.type_name().to_string(),
                    self.layer_params[li]
                        .iter()
                        .map(|&p| &self.params[p])
                        .collect(),
                )
            })
            .collect();
        caffemodel_bytes(&self.graph.name, &layers)
    }

    /// Writes the weights to `path` atomically.
    pub fn save_caffemodel(&self, path: &Path) -> Result<()> {
        write_atomically(path, &self.caffemodel_bytes())
    }
}
