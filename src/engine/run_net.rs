//! A net on whichever engine a run chose: the native [`Net`] or a [`CandleNet`],
//! behind the few calls the commands make (passes, blob and parameter values on
//! the host, output values for the log).

use candle_core::Device;

use super::CandleNet;
use crate::error::Result;
use crate::net::Net;

pub enum RunNet {
    Native(Box<Net>),
    Candle(Box<CandleNet>),
}

impl RunNet {
    /// The native net as is (`device` None), or on the candle engine on `device`.
    pub fn new(net: Net, device: Option<&Device>) -> Result<Self> {
        Ok(match device {
            None => RunNet::Native(Box::new(net)),
            Some(d) => RunNet::Candle(Box::new(CandleNet::from_net(net, d)?)),
        })
    }

    /// The native net: graph, host data layers, and (for candle) the host copy of
    /// the weights as uploaded.
    pub fn host(&self) -> &Net {
        match self {
            RunNet::Native(n) => n,
            RunNet::Candle(c) => &c.net,
        }
    }

    /// Keeps every blob's gradient for [`RunNet::blob_diff`] (the native net
    /// always does; the candle engine only when asked).
    pub fn record_blob_diffs(&mut self) {
        if let RunNet::Candle(c) = self {
            c.record_blob_diffs(true);
        }
    }

    pub fn forward(&mut self) -> Result<f32> {
        match self {
            RunNet::Native(n) => n.forward(),
            RunNet::Candle(c) => c.forward(),
        }
    }

    pub fn backward(&mut self) -> Result<()> {
        match self {
            RunNet::Native(n) => n.backward(),
            RunNet::Candle(c) => c.backward(),
        }
    }

    pub fn clear_param_diffs(&mut self) {
        match self {
            RunNet::Native(n) => n.clear_param_diffs(),
            RunNet::Candle(c) => c.clear_param_diffs(),
        }
    }

    pub fn blob_data(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self {
            RunNet::Native(n) => Ok(n.blob_data(name).map(<[f32]>::to_vec)),
            RunNet::Candle(c) => c.blob_data(name),
        }
    }

    pub fn blob_diff(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self {
            RunNet::Native(n) => Ok(n.blob_diff(name).map(<[f32]>::to_vec)),
            RunNet::Candle(c) => c.blob_diff(name),
        }
    }

    /// Parameter blob `p`'s values.
    pub fn param_data(&self, p: usize) -> Result<Vec<f32>> {
        match self {
            RunNet::Native(n) => Ok(n.params[p].data.clone()),
            RunNet::Candle(c) => c.param_data(p),
        }
    }

    /// Parameter blob `p`'s gradient.
    pub fn param_diff(&self, p: usize) -> Result<Vec<f32>> {
        match self {
            RunNet::Native(n) => Ok(n.params[p].diff.clone()),
            RunNet::Candle(c) => c.param_diff(p),
        }
    }

    /// Sets the gradient injected at blob `name` for the next backward.
    pub fn set_top_diff(&mut self, name: &str, diff: &[f32]) -> Result<()> {
        match self {
            RunNet::Native(n) => {
                let s = n.data_slot(name).ok_or_else(|| {
                    crate::Error::Usage(format!("the net has no blob named `{name}`"))
                })?;
                if n.slots[s].count() != diff.len() {
                    return Err(crate::Error::Usage(format!(
                        "{} gradient values for blob `{name}` of shape {:?}",
                        diff.len(),
                        n.slots[s].shape
                    )));
                }
                n.slots[s].diff.copy_from_slice(diff);
                Ok(())
            }
            RunNet::Candle(c) => c.set_top_diff(name, diff),
        }
    }

    /// The net's outputs as the solver logs them: (name, value, loss weight) per
    /// value. The candle engine copies the output blobs to the host first.
    pub fn output_values(&mut self) -> Result<Vec<(String, f32, f32)>> {
        if let RunNet::Candle(c) = self {
            c.outputs_to_host()?;
        }
        Ok(crate::solver::solve::output_values(self.host()))
    }
}
