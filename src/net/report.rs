//! What `caffers check` shows of a built net: each layer's bottoms, tops with
//! shapes, parameter count and forward multiply-accumulates, as a table or JSON.

use std::fmt::Write;

use serde::Serialize;

use super::graph::NetGraph;
use crate::shape::Shape;

/// The JSON form of one checked net.
#[derive(Serialize, Debug)]
pub struct NetReport {
    pub name: String,
    pub phase: String,
    pub layers: Vec<LayerReport>,
    pub total_params: usize,
    pub total_macs: u64,
    pub outputs: Vec<String>,
}

#[derive(Serialize, Debug)]
pub struct LayerReport {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub bottoms: Vec<String>,
    pub tops: Vec<TopReport>,
    pub params: usize,
    /// Its parameters are written in the net file (`blobs { … }`), not filled.
    /// Only present (true) for such layers, so other reports keep their keys.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inline_blobs: bool,
    pub macs: u64,
}

#[derive(Serialize, Debug)]
pub struct TopReport {
    pub name: String,
    pub shape: Vec<usize>,
}

impl NetReport {
    pub fn new(graph: &NetGraph) -> Self {
        let layers: Vec<LayerReport> = graph
            .layers
            .iter()
            .map(|l| {
                let bottom_shapes: Vec<Shape> = l
                    .bottoms
                    .iter()
                    .map(|&b| graph.blobs[b].shape.clone())
                    .collect();
                let top_shapes: Vec<Shape> = l
                    .tops
                    .iter()
                    .map(|&t| graph.blobs[t].shape.clone())
                    .collect();
                LayerReport {
                    name: l.name().to_string(),
                    type_name: l.type_name().to_string(),
                    bottoms: l.param.bottom.clone(),
                    tops: l
                        .param
                        .top
                        .iter()
                        .zip(&top_shapes)
                        .map(|(n, s)| TopReport {
                            name: n.clone(),
                            shape: s.clone(),
                        })
                        .collect(),
                    params: l.param_count(),
                    inline_blobs: !l.inline_blobs.is_empty(),
                    macs: l.layer.forward_macs(&bottom_shapes, &top_shapes),
                }
            })
            .collect();
        NetReport {
            name: graph.name.clone(),
            phase: graph.phase().to_string(),
            total_params: layers.iter().map(|l| l.params).sum(),
            total_macs: layers.iter().map(|l| l.macs).sum(),
            layers,
            outputs: graph
                .outputs
                .iter()
                .map(|&b| graph.blobs[b].name.clone())
                .collect(),
        }
    }

    /// A human-readable table.
    pub fn table(&self) -> String {
        let mut rows: Vec<[String; 6]> = vec![[
            "layer".into(),
            "type".into(),
            "bottoms".into(),
            "tops".into(),
            "params".into(),
            "MACs".into(),
        ]];
        for l in &self.layers {
            let tops: Vec<String> = l
                .tops
                .iter()
                .map(|t| {
                    let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
                    format!("{} {}", t.name, dims.join("×"))
                })
                .collect();
            rows.push([
                l.name.clone(),
                l.type_name.clone(),
                l.bottoms.join(", "),
                tops.join(", "),
                params_cell(l),
                thousands(l.macs),
            ]);
        }
        let widths: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!("net `{}`, phase {}\n", self.name, self.phase);
        for row in &rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c >= 4 {
                    let _ = write!(line, "  {}{cell}", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "total: {} parameters, {} multiply-accumulates per forward pass",
            thousands(self.total_params as u64),
            thousands(self.total_macs)
        );
        let _ = writeln!(out, "outputs: {}", self.outputs.join(", "));
        out
    }
}

/// A layer's parameter count, marked `inline` when the net file gives the values.
fn params_cell(l: &LayerReport) -> String {
    let count = thousands(l.params as u64);
    if l.inline_blobs {
        format!("{count} inline")
    } else {
        count
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
