//! Moving weights between a running net and `.caffemodel` files, by layer name, as
//! Caffe's CopyTrainedLayersFrom and ToProto do.

use std::collections::HashSet;
use std::path::Path;

use super::run::Net;
use crate::blob::Blob;
use crate::error::{Error, Result};
use crate::io::atomic::write_atomically;
use crate::io::caffemodel::{caffemodel_bytes, read_caffemodel, StoredLayer};
use crate::log::{info, warning};

/// What copying a weights file into a net did, by layer name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopiedLayers {
    /// Stored layers whose blobs were copied into the net.
    pub copied: Vec<String>,
    /// Learnable layers of the net that the file left at their filler values.
    pub uncovered: Vec<String>,
}

impl CopiedLayers {
    /// Warns about each learnable layer the file did not cover: running a net
    /// with filler values where trained ones were meant is silently wrong.
    pub fn warn_uncovered(&self, file: &Path) {
        for layer in &self.uncovered {
            warning(
                "net.cpp:776",
                &format!(
                    "layer {layer} has no weights in {}: it keeps its filler values",
                    file.display()
                ),
            );
        }
    }
}

/// `[2, 3]` as Caffe's shape_string writes it: `2 3 (6)`.
fn shape_string(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("{} ({})", dims.join(" "), shape.iter().product::<usize>())
}

impl Net {
    /// Copies every stored layer's blobs into the layer of the same name, checking
    /// shapes (legacy 4-D shapes compare right-aligned), and logs Caffe's
    /// `Copying source layer` / `Ignoring source layer` lines. Stored layers the net
    /// does not have are skipped, as Caffe does; a file with no layers, or none
    /// that reaches a learnable layer of a net that has some, is refused: it is
    /// not the weights of this model.
    pub fn copy_trained_layers(
        &mut self,
        stored: &[StoredLayer],
        file: &str,
    ) -> Result<CopiedLayers> {
        if stored.is_empty() {
            return Err(Error::file(
                file,
                "holds no layers: it is empty or not a .caffemodel",
            ));
        }
        let mut copied = Vec::new();
        let mut written: HashSet<usize> = HashSet::new();
        for s in stored {
            let Some(li) = self.graph.layers.iter().position(|l| l.name() == s.name) else {
                info("net.cpp:761", &format!("Ignoring source layer {}", s.name));
                continue;
            };
            info("net.cpp:769", &format!("Copying source layer {}", s.name));
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
                            "cannot copy param {k} weights from layer `{}`; shape mismatch. Source param shape is {}; target param shape is {}. To learn this layer's parameters from scratch rather than copying from a saved net, rename the layer.",
                            s.name,
                            shape_string(b.shape()),
                            shape_string(&target.shape)
                        ),
                    ));
                }
                target.data.copy_from_slice(&b.data);
                written.insert(p);
            }
            copied.push(s.name.clone());
        }
        let learnable: Vec<usize> = (0..self.graph.layers.len())
            .filter(|&li| !self.layer_params[li].is_empty())
            .collect();
        let uncovered: Vec<String> = learnable
            .iter()
            .filter(|&&li| self.layer_params[li].iter().any(|p| !written.contains(p)))
            .map(|&li| self.graph.layers[li].name().to_string())
            .collect();
        if !learnable.is_empty() && uncovered.len() == learnable.len() {
            let names: Vec<&str> = stored.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::file(
                file,
                format!(
                    "fits no learnable layer of net `{}`: its layers ({}) share no name with the net's learnable layers ({}) — are these the weights of this model?",
                    self.graph.name,
                    names.join(", "),
                    uncovered.join(", ")
                ),
            ));
        }
        Ok(CopiedLayers { copied, uncovered })
    }

    /// Loads weights from a .caffemodel file (see [`Net::copy_trained_layers`]).
    pub fn load_caffemodel(&mut self, path: &Path) -> Result<CopiedLayers> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use crate::io::blob_proto::{to_bin, StoredBlob};
    use crate::net::NetOptions;
    use crate::proto::NetState;

    /// Input → ip (2 outputs) → ip2 (3 outputs), 4 input values.
    fn net() -> Net {
        let text = "layer { name: 'x' type: 'Input' top: 'x' input_param { shape { dim: 1 dim: 4 } } }
            layer { name: 'ip' type: 'InnerProduct' bottom: 'x' top: 'y' inner_product_param { num_output: 2 } }
            layer { name: 'ip2' type: 'InnerProduct' bottom: 'y' top: 'z' inner_product_param { num_output: 3 } }";
        let loaded = crate::load::net_from_source(&SourceFile::new("t", text)).unwrap();
        Net::from_loaded(&loaded, &NetState::default(), &NetOptions::default()).unwrap()
    }

    fn stored(name: &str, shapes: &[&[usize]]) -> StoredLayer {
        StoredLayer {
            name: name.into(),
            type_name: "InnerProduct".into(),
            blobs: shapes
                .iter()
                .map(|s| {
                    let data = vec![0.25; s.iter().product()];
                    StoredBlob::from_bin(to_bin(s, &data)).unwrap()
                })
                .collect(),
        }
    }

    #[test]
    fn copies_by_name_skips_the_rest_and_reports_uncovered_layers() {
        let mut n = net();
        let file = [stored("ip", &[&[2, 4], &[2]]), stored("gone", &[&[1]])];
        let copied = n.copy_trained_layers(&file, "w").unwrap();
        assert_eq!(copied.copied, vec!["ip".to_string()]);
        assert_eq!(copied.uncovered, vec!["ip2".to_string()]);
        assert!(n.layer_param_blobs("ip").unwrap()[0]
            .data
            .iter()
            .all(|&v| v == 0.25));
    }

    #[test]
    fn refuses_empty_foreign_and_misshapen_files() {
        let e = net().copy_trained_layers(&[], "w").unwrap_err().to_string();
        assert!(e.contains("holds no layers"), "{e}");
        let e = net()
            .copy_trained_layers(&[stored("other", &[&[1]])], "w")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fits no learnable layer of net"), "{e}");
        let e = net()
            .copy_trained_layers(&[stored("ip", &[&[3, 4], &[3]])], "w")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Source param shape is 3 4 (12); target param shape is 2 4 (8)")
                && e.contains("rename the layer"),
            "{e}"
        );
    }
}
