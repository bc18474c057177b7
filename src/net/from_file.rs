//! A loaded net file made into a graph or a runnable net, in the state the caller
//! asks for: the one place a file's net is built (`check`, `forward`, `time`,
//! `test` and the solver's nets all come through here).

use std::collections::HashMap;
use std::path::Path;

use super::graph::{build, net_state, NetGraph};
use super::run::Net;
use crate::error::Result;
use crate::layers::BuildContext;
use crate::load::{load_net, LoadedNet};
use crate::proto::{NetState, Phase};
use crate::shape::Shape;

/// How a net is built, beyond the state its layers are filtered by.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// Shapes for data tops (`--input-shape`).
    pub data_shapes: HashMap<String, Shape>,
    /// Data layers do not read their sources; their tops are filled from outside.
    pub external_data: bool,
    /// Seed for the fillers and the random layers.
    pub seed: u64,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            data_shapes: HashMap::new(),
            external_data: false,
            seed: 1,
        }
    }
}

/// The state a net file is built in: the file's own `state`, with the requested
/// phase (TEST when none, Caffe's default), level (when given) and stages added, as
/// Caffe's Net constructor merges them.
pub fn requested_state(loaded: &LoadedNet, requested: &NetState) -> NetState {
    let phase = requested.phase.unwrap_or(Phase::Test);
    net_state(&loaded.net, phase, requested.level, &requested.stage)
}

/// Filters and shapes a loaded net for the requested state.
pub fn graph_of(
    loaded: &LoadedNet,
    requested: &NetState,
    options: &NetOptions,
) -> Result<NetGraph> {
    let state = requested_state(loaded, requested);
    let ctx = BuildContext {
        phase: state.phase,
        data_shapes: options.data_shapes.clone(),
        external_data: options.external_data,
    };
    build(&loaded.net, &state, &loaded.source, &ctx)
}

impl Net {
    /// Builds, allocates and fills a loaded net for the requested state.
    pub fn from_loaded(
        loaded: &LoadedNet,
        requested: &NetState,
        options: &NetOptions,
    ) -> Result<Net> {
        let graph = graph_of(loaded, requested, options)?;
        Net::new(graph, loaded.net.force_backward(), options.seed)
    }

    /// Reads a prototxt file and builds its net for the requested state.
    pub fn from_file(path: &Path, requested: &NetState, options: &NetOptions) -> Result<Net> {
        Net::from_loaded(&load_net(path)?, requested, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;

    fn loaded(text: &str) -> LoadedNet {
        crate::load::net_from_source(&SourceFile::new("t", text)).unwrap()
    }

    #[test]
    fn the_request_overrides_phase_and_level_and_adds_stages() {
        let net =
            loaded("state { level: 2 stage: 'a' } layer { name: 'x' type: 'Input' top: 'x' }");
        let st = requested_state(&net, &NetState::default());
        assert_eq!(
            (st.phase, st.level, st.stage.clone()),
            (Some(Phase::Test), Some(2), vec!["a".to_string()])
        );
        let request = NetState {
            phase: Some(Phase::Train),
            level: Some(5),
            stage: vec!["b".into()],
        };
        let st = requested_state(&net, &request);
        assert_eq!(
            (st.phase, st.level, st.stage),
            (
                Some(Phase::Train),
                Some(5),
                vec!["a".to_string(), "b".to_string()]
            )
        );
    }

    #[test]
    fn rules_see_the_requested_stage() {
        let net = loaded(
            "layer { name: 'x' type: 'Input' top: 'x' input_param { shape { dim: 1 } } }
             layer { name: 'y' type: 'ReLU' bottom: 'x' top: 'y' include { stage: 'deploy' } }",
        );
        let plain = graph_of(&net, &NetState::default(), &NetOptions::default()).unwrap();
        assert_eq!(plain.layers.len(), 1);
        let deploy = NetState {
            stage: vec!["deploy".into()],
            ..Default::default()
        };
        let staged = graph_of(&net, &deploy, &NetOptions::default()).unwrap();
        assert_eq!(staged.layers.len(), 2);
    }
}
