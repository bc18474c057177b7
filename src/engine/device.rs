//! Which candle device a run uses: `cpu` or `cuda:N` (Caffe's `--gpu N` and
//! `solver_mode: GPU` mean `cuda:N`). A build or machine without CUDA falls back
//! to the CPU with a warning rather than failing.

use candle_core::Device;

use crate::error::{Error, Result};

/// A device as the user names it, before it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    Cpu,
    Cuda(usize),
}

impl DeviceSpec {
    /// Parses `cpu` or `cuda:N` (`cuda` alone is `cuda:0`); anything else is an
    /// error that names the string.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("cpu") {
            return Ok(DeviceSpec::Cpu);
        }
        if t.eq_ignore_ascii_case("cuda") {
            return Ok(DeviceSpec::Cuda(0));
        }
        if let Some(n) = t.strip_prefix("cuda:") {
            if let Ok(n) = n.parse::<usize>() {
                return Ok(DeviceSpec::Cuda(n));
            }
        }
        Err(Error::Usage(format!(
            "unknown device `{text}`: use `cpu` or `cuda:N` (N the GPU's ordinal, e.g. cuda:0)"
        )))
    }

    /// Caffe's `--gpu N`.
    pub fn from_gpu_ordinal(n: usize) -> Self {
        DeviceSpec::Cuda(n)
    }

    /// Opens the device. When CUDA cannot be opened (a build without candle's
    /// CUDA backend, or no GPU), `warn` is told why and the CPU is returned.
    pub fn open(self, warn: impl FnOnce(&str)) -> Device {
        match self {
            DeviceSpec::Cpu => Device::Cpu,
            DeviceSpec::Cuda(n) => match Device::new_cuda(n) {
                Ok(device) => device,
                Err(e) => {
                    let why = if candle_core::utils::cuda_is_available() {
                        // candle's error carries a backtrace after its first line.
                        let e = e.to_string();
                        let e = e.lines().next().unwrap_or_default().trim_end();
                        format!("CUDA device {n} cannot be opened ({e}); running on the CPU")
                    } else {
                        "this build has no CUDA support; running on the CPU".to_string()
                    };
                    warn(&why);
                    Device::Cpu
                }
            },
        }
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Cpu => write!(f, "cpu"),
            DeviceSpec::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_cuda_and_names_the_unknown() {
        assert_eq!(DeviceSpec::parse("cpu").unwrap(), DeviceSpec::Cpu);
        assert_eq!(DeviceSpec::parse("cuda:1").unwrap(), DeviceSpec::Cuda(1));
        assert_eq!(DeviceSpec::parse("cuda").unwrap(), DeviceSpec::Cuda(0));
        let e = DeviceSpec::parse("tpu:0").unwrap_err().to_string();
        assert!(e.contains("`tpu:0`"), "{e}");
        assert!(DeviceSpec::parse("cuda:x").is_err());
    }

    #[test]
    fn cuda_without_support_falls_back_to_the_cpu_with_a_warning() {
        if candle_core::utils::cuda_is_available() {
            return;
        }
        let mut warned = String::new();
        let device = DeviceSpec::Cuda(0).open(|w| warned = w.to_string());
        assert!(device.is_cpu());
        assert!(warned.contains("no CUDA support"), "{warned}");
    }
}
