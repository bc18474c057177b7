//! `.solverstate`: Caffe's binary SolverState (iteration, the caffemodel it goes
//! with, the solver's history blobs, multistep's position).

use std::path::Path;

use prost::Message;

use super::blob_proto::{to_bin, BlobProtoBin, StoredBlob};
use crate::error::{Error, Result};

#[derive(Clone, PartialEq, Message)]
pub struct SolverStateBin {
    #[prost(int32, optional, tag = "1")]
    pub iter: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub learned_net: Option<String>,
    #[prost(message, repeated, tag = "3")]
    pub history: Vec<BlobProtoBin>,
    #[prost(int32, optional, tag = "4")]
    pub current_step: Option<i32>,
}

/// A solver's resumable state.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverSnapshot {
    pub iter: i32,
    pub learned_net: String,
    pub history: Vec<(Vec<usize>, Vec<f32>)>,
    pub current_step: i32,
}

pub fn solverstate_bytes(s: &SolverSnapshot) -> Vec<u8> {
    SolverStateBin {
        iter: Some(s.iter),
        learned_net: Some(s.learned_net.clone()),
        history: s
            .history
            .iter()
            .map(|(shape, data)| to_bin(shape, data))
            .collect(),
        current_step: Some(s.current_step),
    }
    .encode_to_vec()
}

pub fn read_solverstate(path: &Path) -> Result<SolverSnapshot> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_solverstate(&path.display().to_string(), &bytes)
}

/// Decodes the bytes of a .solverstate file called `name` (for errors).
pub fn parse_solverstate(name: &str, bytes: &[u8]) -> Result<SolverSnapshot> {
    let state = SolverStateBin::decode(bytes)
        .map_err(|e| Error::file(name, format!("is not a valid .solverstate: {e}")))?;
    let history = state
        .history
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let b = StoredBlob::from_bin(b)
                .map_err(|e| Error::file(name, format!("history blob {i} {e}")))?;
            Ok((b.shape().to_vec(), b.data))
        })
        .collect::<Result<_>>()?;
    Ok(SolverSnapshot {
        iter: state.iter.unwrap_or(0),
        learned_net: state.learned_net.unwrap_or_default(),
        history,
        current_step: state.current_step.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = SolverSnapshot {
            iter: 4000,
            learned_net: "snap_iter_4000.caffemodel".into(),
            history: vec![
                (vec![2, 2], vec![0.5, -1.0, 0.0, 2.0]),
                (vec![2], vec![1.0, 2.0]),
            ],
            current_step: 1,
        };
        let dir = std::env::temp_dir().join(format!("caffers-ss-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.solverstate");
        std::fs::write(&p, solverstate_bytes(&s)).unwrap();
        assert_eq!(read_solverstate(&p).unwrap(), s);
        std::fs::write(&p, b"\x08").unwrap();
        assert!(read_solverstate(&p).is_err() || read_solverstate(&p).unwrap().iter == 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
