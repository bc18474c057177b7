//! A net as Caffe's draw_net.py shows it: layers as boxes, blobs as ovals, an
//! edge from each producer to its blob (labelled with the blob's shape) and from
//! each blob to its consumers. In-place layers (ReLU on its bottom, …) are folded
//! into the box of the layer that produced their blob, as one more label line.

use crate::net::NetGraph;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A layer box, with the type that picks its colour.
    Layer(String),
    Blob,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub label: String,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagram {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// A shape as the drawing writes it: `100×32×16×16`, or `scalar`.
pub fn shape_label(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// Builds the diagram of a shaped net.
pub fn diagram(graph: &NetGraph) -> Diagram {
    let mut d = Diagram::default();
    let mut blob_node: Vec<Option<usize>> = vec![None; graph.blobs.len()];
    // The box that last wrote each blob: where an in-place layer on it is folded.
    let mut writer: Vec<Option<usize>> = vec![None; graph.blobs.len()];
    let mut node_of_blob = |d: &mut Diagram, b: usize| {
        *blob_node[b].get_or_insert_with(|| {
            d.nodes.push(Node {
                label: graph.blobs[b].name.clone(),
                kind: NodeKind::Blob,
            });
            d.nodes.len() - 1
        })
    };
    for layer in &graph.layers {
        let in_place = layer.bottoms.len() == 1 && layer.tops == layer.bottoms;
        if in_place {
            if let Some(box_id) = writer[layer.tops[0]] {
                let label = &mut d.nodes[box_id].label;
                label.push_str(&format!("\n+ {} ({})", layer.name(), layer.type_name()));
                continue;
            }
        }
        d.nodes.push(Node {
            label: format!("{}\n({})", layer.name(), layer.type_name()),
            kind: NodeKind::Layer(layer.type_name().to_string()),
        });
        let id = d.nodes.len() - 1;
        for &b in &layer.bottoms {
            let from = node_of_blob(&mut d, b);
            d.edges.push(Edge {
                from,
                to: id,
                label: String::new(),
            });
        }
        // An in-place layer with no box before it (its blob comes from outside)
        // only reads: an edge back to its blob would make a cycle.
        if in_place {
            writer[layer.tops[0]] = Some(id);
            continue;
        }
        for &t in &layer.tops {
            let to = node_of_blob(&mut d, t);
            d.edges.push(Edge {
                from: id,
                to,
                label: shape_label(&graph.blobs[t].shape),
            });
            writer[t] = Some(id);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_net;
    use crate::net::{graph_of, NetOptions};
    use crate::proto::{NetState, Phase};

    fn cifar10_quick() -> Diagram {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("nets/cifar10_quick_train_test.prototxt");
        let options = NetOptions {
            data_shapes: [("data".to_string(), vec![100, 3, 32, 32])].into(),
            ..Default::default()
        };
        let state = NetState {
            phase: Some(Phase::Train),
            ..Default::default()
        };
        diagram(&graph_of(&load_net(&path).unwrap(), &state, &options).unwrap())
    }

    #[test]
    fn in_place_layers_fold_into_their_producer() {
        let d = cifar10_quick();
        let boxes: Vec<&str> = d
            .nodes
            .iter()
            .filter(|n| n.kind != NodeKind::Blob)
            .map(|n| n.label.as_str())
            .collect();
        // 13 layers, 3 of them in-place ReLUs.
        assert_eq!(boxes.len(), 10, "{boxes:?}");
        assert!(
            boxes.contains(&"pool1\n(Pooling)\n+ relu1 (ReLU)"),
            "{boxes:?}"
        );
        assert!(
            boxes.contains(&"conv2\n(Convolution)\n+ relu2 (ReLU)"),
            "{boxes:?}"
        );
        let blobs = d.nodes.iter().filter(|n| n.kind == NodeKind::Blob).count();
        // data, label, conv1, pool1, conv2, pool2, conv3, pool3, ip1, ip2, loss
        assert_eq!(blobs, 11);
    }

    #[test]
    fn edges_carry_the_producers_shapes() {
        let d = cifar10_quick();
        let shape_of = |blob: &str| {
            let id = d
                .nodes
                .iter()
                .position(|n| n.kind == NodeKind::Blob && n.label == blob)
                .unwrap();
            d.edges.iter().find(|e| e.to == id).unwrap().label.clone()
        };
        assert_eq!(shape_of("data"), "100×3×32×32");
        assert_eq!(shape_of("pool1"), "100×32×16×16");
        assert_eq!(shape_of("label"), "100");
        assert_eq!(shape_of("loss"), "scalar");
        // Blob → layer edges carry no label; every edge joins a box and a blob.
        for e in &d.edges {
            let kinds = (&d.nodes[e.from].kind, &d.nodes[e.to].kind);
            assert!(
                matches!(
                    kinds,
                    (NodeKind::Blob, NodeKind::Layer(_)) | (NodeKind::Layer(_), NodeKind::Blob)
                ),
                "{e:?}"
            );
        }
    }
}
