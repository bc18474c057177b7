//! `caffers train`'s `--engine` and `--device`, and which engine a training run
//! uses. Caffe's `-gpu N` and `solver_mode: GPU` pick the device (cuda:N) only
//! for a run that asks for candle; otherwise they keep their warnings and the
//! run stays native, as before the candle engine.

use clap::Args;

use super::engine_args::{Engine, EngineArgs, EngineKind};
use crate::error::{Error, Result};

#[derive(Args, Debug, Clone, Default)]
pub struct TrainEngineArgs {
    /// Which engine trains: native (the default) or candle (candle tensor ops;
    /// implied by --device cuda:N). With candle, -gpu N and solver_mode: GPU
    /// mean cuda:N.
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// The device: cpu or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
}

impl TrainEngineArgs {
    /// Whether the run asked for the candle engine or a device.
    pub fn chosen(&self) -> bool {
        self.engine.is_some() || self.device.is_some()
    }

    /// The engine and device: `gpu` is Caffe's -gpu (one ordinal), `solver_gpu`
    /// the device_id of a `solver_mode: GPU` solver. Native unless [`Self::chosen`].
    pub fn resolve(&self, gpu: Option<&str>, solver_gpu: Option<usize>) -> Result<Engine> {
        if !self.chosen() {
            return Ok(Engine::Native);
        }
        let gpu = match gpu {
            None => None,
            Some(ids) => Some(ids.trim().parse::<usize>().map_err(|_| {
                Error::Usage(format!(
                    "-gpu {ids}: the candle engine trains on one device; give one ordinal (-gpu 0)"
                ))
            })?),
        };
        let args = EngineArgs {
            engine: self.engine,
            device: self.device.clone(),
            gpu: if self.device.is_some() { None } else { gpu },
        };
        args.resolve(solver_gpu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(engine: Option<EngineKind>, device: Option<&str>) -> TrainEngineArgs {
        TrainEngineArgs {
            engine,
            device: device.map(String::from),
        }
    }

    #[test]
    fn native_unless_asked_even_with_a_gpu() {
        let e = args(None, None).resolve(Some("0"), Some(0)).unwrap();
        assert!(matches!(e, Engine::Native));
    }

    #[test]
    fn candle_on_the_cpu_and_one_gpu_ordinal_only() {
        let e = args(Some(EngineKind::Candle), None)
            .resolve(None, None)
            .unwrap();
        assert!(matches!(e, Engine::Candle(d) if d.is_cpu()));
        let e = args(Some(EngineKind::Candle), None)
            .resolve(Some("0,1"), None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("one ordinal"), "{e}");
    }
}
