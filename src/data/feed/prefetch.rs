//! A prefetch thread: batches are made ahead on their own thread and handed over a
//! bounded channel (Caffe's PREFETCH_COUNT, data_param.prefetch), so reading and
//! transforming data overlaps the solver step.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// One batch: data (N×C×H×W values) and labels (N).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub data_shape: Vec<usize>,
    pub data: Vec<f32>,
    pub labels: Vec<f32>,
}

/// Hands batches to the thread's consumer; `send` is false once nobody listens.
pub struct Sender(SyncSender<Result<Batch, String>>);

impl Sender {
    pub fn send(&self, batch: Result<Batch, String>) -> bool {
        self.0.send(batch).is_ok()
    }
}

pub struct Prefetcher {
    rx: Option<Receiver<Result<Batch, String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Prefetcher {
    /// Starts `body` on a new thread; it makes batches and sends them until `send`
    /// returns false (the layer was dropped) or it sends an error.
    pub fn spawn(
        name: &str,
        depth: usize,
        body: impl FnOnce(Sender) + Send + 'static,
    ) -> Result<Self, String> {
        let (tx, rx) = sync_channel(depth.max(1));
        let handle = std::thread::Builder::new()
            .name(format!("prefetch {name}"))
            .spawn(move || body(Sender(tx)))
            .map_err(|e| format!("cannot start the prefetch thread: {e}"))?;
        Ok(Prefetcher {
            rx: Some(rx),
            handle: Some(handle),
        })
    }

    /// The next batch (waits for it if the thread is behind).
    pub fn next_batch(&mut self) -> Result<Batch, String> {
        let rx = self.rx.as_ref().ok_or("the prefetch thread has stopped")?;
        match rx.recv() {
            Ok(b) => b,
            Err(_) => Err("the prefetch thread stopped unexpectedly".into()),
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        // Closing the channel makes the thread's next send fail, and it returns.
        self.rx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A data layer's next batch: on the first call, takes its `reader` and starts the
/// prefetch thread with `read` as its body (`describe` names the thread and gives
/// the queue depth); without a reader, fails with `no_reader`.
pub fn next_batch_of<R: Send + 'static>(
    prefetch: &mut Option<Prefetcher>,
    reader: &mut Option<R>,
    no_reader: &str,
    describe: fn(&R) -> (String, usize),
    read: fn(R, &Sender) -> Result<(), String>,
) -> Result<Batch, String> {
    if prefetch.is_none() {
        let r = reader.take().ok_or_else(|| no_reader.to_string())?;
        let (name, depth) = describe(&r);
        *prefetch = Some(Prefetcher::spawn(&name, depth, move |tx| {
            if let Err(e) = read(r, &tx) {
                tx.send(Err(e));
            }
        })?);
    }
    prefetch.as_mut().expect("started above").next_batch()
}
