//! The memory budget of a net about to run: before [`super::Net`] allocates its
//! blobs and parameters, their bytes are summed and a net that needs more than
//! the budget is refused, naming its biggest layer, instead of dying in the
//! allocator. The budget is `memory_limit` from caffers.toml, or else the memory
//! the system reports available (no limit when it cannot be read).

use std::sync::OnceLock;

use super::graph::NetGraph;
use crate::byte_size;
use crate::error::{Error, Result};
use crate::shape::{count, shape_string};

/// The limit set from the settings, once per process.
static MEMORY_LIMIT: OnceLock<u64> = OnceLock::new();

/// Sets the process's memory budget in bytes (`memory_limit`); the first call wins.
pub fn set_memory_limit(bytes: u64) {
    let _ = MEMORY_LIMIT.set(bytes);
}

/// Where the budget came from, for the message that refuses a net.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSource {
    Setting,
    Available,
}

/// The budget now: the set limit, or MemAvailable from /proc/meminfo.
pub fn current_budget() -> Option<(u64, BudgetSource)> {
    if let Some(&limit) = MEMORY_LIMIT.get() {
        return Some((limit, BudgetSource::Setting));
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_available(&meminfo).map(|b| (b, BudgetSource::Available))
}

/// MemAvailable of a /proc/meminfo text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// Bytes of one stored blob: f32 data and f32 gradient.
fn blob_bytes(shape: &[usize]) -> u64 {
    (count(shape) as u64).saturating_mul(2 * std::mem::size_of::<f32>() as u64)
}

/// Refuses `graph` when its blobs (every slot), parameters and the layers' working
/// memory need more than `budget` bytes. Shared parameters are counted for each layer, as each layer's
/// own blobs are made before sharing drops them.
pub fn check_budget(graph: &NetGraph, budget: u64, source: BudgetSource) -> Result<()> {
    let mut per_layer = vec![0u64; graph.layers.len()];
    let mut biggest: Option<(u64, usize, String)> = None;
    let mut note = |layer: usize, bytes: u64, what: String| {
        per_layer[layer] = per_layer[layer].saturating_add(bytes);
        if biggest.as_ref().is_none_or(|(b, _, _)| bytes > *b) {
            biggest = Some((bytes, layer, what));
        }
    };
    for slot in &graph.slots {
        let blob = &graph.blobs[slot.blob];
        let what = format!("top `{}` ({})", blob.name, shape_string(&blob.shape));
        note(slot.producer, blob_bytes(&blob.shape), what);
    }
    for (li, node) in graph.layers.iter().enumerate() {
        for (i, shape) in node.param_shapes.iter().enumerate() {
            let what = format!("parameter blob {i} ({})", shape_string(shape));
            note(li, blob_bytes(shape), what);
        }
    }
    for (li, node) in graph.layers.iter().enumerate() {
        let scratch = node.layer.scratch_bytes();
        if scratch > 0 {
            note(
                li,
                scratch,
                "its working memory (column buffers)".to_string(),
            );
        }
    }
    let total = per_layer.iter().fold(0u64, |t, &b| t.saturating_add(b));
    if total <= budget {
        return Ok(());
    }
    let Some((bytes, li, what)) = biggest else {
        return Ok(());
    };
    let layer = &graph.layers[li];
    let whence = match source {
        BudgetSource::Setting => "memory_limit in caffers.toml",
        BudgetSource::Available => {
            "the memory available now; set memory_limit in caffers.toml to change it"
        }
    };
    Err(Error::Layer {
        layer: layer.name().to_string(),
        layer_type: layer.type_name().to_string(),
        location: layer.location.clone(),
        message: format!(
            "the net needs {} for its blobs and parameters (data and gradients) and working memory, more than the \
             memory budget of {} ({whence}); this layer needs the most, {}, and its biggest blob \
             is {what}, {}",
            byte_size::format(total),
            byte_size::format(budget),
            byte_size::format(per_layer[li]),
            byte_size::format(bytes),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::BuildContext;
    use crate::proto::Phase;

    fn graph(text: &str) -> NetGraph {
        let src = crate::error::SourceFile::new("t", text);
        let loaded = crate::load::net_from_source(&src).unwrap();
        let state = super::super::net_state(&loaded.net, Phase::Test, None, &[]);
        super::super::build(
            &loaded.net,
            &state,
            &loaded.source,
            &BuildContext::default(),
        )
        .unwrap()
    }

    const NET: &str = "layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 4 dim: 256 } } }
         layer { name: 'fc' type: 'InnerProduct' bottom: 'x' top: 'y' inner_product_param { num_output: 1024 } }";

    #[test]
    fn sums_blobs_and_parameters_and_names_the_biggest_layer() {
        let g = graph(NET);
        // x 4·256, y 4·1024, weights 1024·256, bias 1024; data and gradient.
        let total = 8 * (4 * 256 + 4 * 1024 + 1024 * 256 + 1024);
        assert!(check_budget(&g, total, BudgetSource::Setting).is_ok());
        let e = check_budget(&g, total - 1, BudgetSource::Setting)
            .unwrap_err()
            .to_string();
        assert!(e.contains("layer `fc`"), "{e}");
        assert!(e.contains("parameter blob 0 (1024 256 (262144))"), "{e}");
        assert!(e.contains("memory_limit in caffers.toml"), "{e}");
    }

    #[test]
    fn counts_the_convolution_column_buffer() {
        // Small blobs (three 512×512 planes), but an 11×11 kernel whose column
        // matrix holds 3·121 values per output pixel: about 380 MB per worker.
        let g = graph(
            "layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 1 dim: 3 dim: 512 dim: 512 } } }
             layer { name: 'conv' type: 'Convolution' bottom: 'x' top: 'y'
                     convolution_param { num_output: 1 kernel_size: 11 pad: 5 } }",
        );
        let blobs = 8 * (4 * 512 * 512 + 3 * 121 + 1);
        let col = 4 * 3 * 121 * 512 * 512;
        let e = check_budget(&g, blobs + col / 2, BudgetSource::Setting)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("layer `conv`") && e.contains("working memory"),
            "{e}"
        );
    }

    #[test]
    fn reads_mem_available() {
        let text = "MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(mem_available(text), Some(8_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }
}
