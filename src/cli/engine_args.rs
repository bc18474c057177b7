//! `--engine native|candle`, `--device cpu|cuda:N` and Caffe's `--gpu N`, shared by
//! train, test, time and forward (flattened into each command's arguments), and
//! the one decision of which engine and device a run uses.

use candle_core::Device;
use clap::{Args, ValueEnum};

use crate::engine::DeviceSpec;
use crate::error::{Error, Result};
use crate::log::info;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    /// The tuned CPU kernels over host blobs.
    Native,
    /// candle tensor ops on a candle device.
    Candle,
}

#[derive(Args, Debug, Clone, Default)]
pub struct EngineArgs {
    /// Which engine runs the layers: native (the tuned CPU kernels; the default on
    /// the CPU) or candle (candle tensor ops; implied by a CUDA device).
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// The device: cpu or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// Caffe's --gpu N: the same as --device cuda:N.
    #[arg(long, conflicts_with = "device")]
    pub gpu: Option<usize>,
}

/// The engine a run uses, with its device opened.
pub enum Engine {
    Native,
    Candle(Device),
}

impl Engine {
    /// The candle device, or None for the native engine.
    pub fn device(&self) -> Option<&Device> {
        match self {
            Engine::Native => None,
            Engine::Candle(d) => Some(d),
        }
    }
}

impl EngineArgs {
    /// Resolves the flags; `solver_gpu` is the device a solver's `solver_mode:
    /// GPU` asks for (flags win over it). A CUDA device implies candle; asking
    /// the native engine for one is an error; a build or machine without CUDA
    /// logs why and runs on the CPU.
    pub fn resolve(&self, solver_gpu: Option<usize>) -> Result<Engine> {
        let spec = match (&self.device, self.gpu) {
            (Some(d), _) => Some(DeviceSpec::parse(d)?),
            (None, Some(n)) => Some(DeviceSpec::from_gpu_ordinal(n)),
            (None, None) => solver_gpu.map(DeviceSpec::from_gpu_ordinal),
        };
        let spec = spec.unwrap_or(DeviceSpec::Cpu);
        let kind = match (self.engine, spec) {
            (Some(EngineKind::Native), DeviceSpec::Cuda(_))
                if self.device.is_some() || self.gpu.is_some() =>
            {
                return Err(Error::Usage(format!(
                    "--engine native runs on the CPU only; device {spec} needs --engine candle"
                )))
            }
            (Some(kind), _) => kind,
            (None, DeviceSpec::Cuda(_)) => EngineKind::Candle,
            (None, DeviceSpec::Cpu) => EngineKind::Native,
        };
        Ok(match kind {
            EngineKind::Native => Engine::Native,
            EngineKind::Candle => {
                let device = spec.open(|why| info("caffe.cpp:214", &format!("warning: {why}")));
                let name = if device.is_cpu() {
                    "cpu".to_string()
                } else {
                    spec.to_string()
                };
                info(
                    "caffe.cpp:218",
                    &format!("Using the candle engine on {name}."),
                );
                Engine::Candle(device)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(engine: Option<EngineKind>, device: Option<&str>, gpu: Option<usize>) -> EngineArgs {
        EngineArgs {
            engine,
            device: device.map(String::from),
            gpu,
        }
    }

    #[test]
    fn native_on_the_cpu_by_default_and_candle_when_asked() {
        assert!(matches!(
            args(None, None, None).resolve(None).unwrap(),
            Engine::Native
        ));
        assert!(matches!(
            args(Some(EngineKind::Candle), None, None).resolve(None).unwrap(),
            Engine::Candle(d) if d.is_cpu()
        ));
    }

    #[test]
    fn a_cuda_device_implies_candle_and_native_refuses_one() {
        assert!(matches!(
            args(None, None, Some(0)).resolve(None).unwrap(),
            Engine::Candle(_)
        ));
        assert!(matches!(
            args(None, None, None).resolve(Some(0)).unwrap(),
            Engine::Candle(_)
        ));
        let e = args(Some(EngineKind::Native), Some("cuda:0"), None)
            .resolve(None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--engine candle"), "{e}");
    }

    #[test]
    fn an_unknown_device_is_named() {
        let e = args(None, Some("gpu0"), None)
            .resolve(None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("`gpu0`"), "{e}");
    }
}
