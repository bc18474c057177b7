//! Training curves: the series one run produces (smoothed train loss and lr at
//! each displayed iteration, every test output at each test pass), read back from
//! a Caffe-format log ([`glog`]) or recorded live ([`recorder`]), and drawn as
//! one chart ([`chart`]).

pub mod chart;
pub mod glog;
pub mod recorder;

/// Points of one series: (iteration, value).
pub type Points = Vec<(f64, f64)>;

/// The curves of one training run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// What the legend calls the run (a log's file stem).
    pub name: String,
    /// Caffe's displayed, smoothed loss (`Iteration N …, loss = X`).
    pub train_loss: Points,
    /// The learning rate (`Iteration N, lr = X`).
    pub lr: Points,
    /// Each test output, by name, in the order first seen (`Test net output #k`).
    pub test: Vec<(String, Points)>,
}

impl Run {
    pub fn new(name: impl Into<String>) -> Self {
        Run {
            name: name.into(),
            ..Default::default()
        }
    }

    /// Adds a test output's value; `net` is the test net's index (outputs of test
    /// nets after the first are named `name (#net)`, as Caffe numbers them).
    pub fn add_test(&mut self, net: usize, name: &str, iter: f64, value: f64) {
        let name = if net == 0 {
            format!("test {name}")
        } else {
            format!("test {name} (#{net})")
        };
        match self.test.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push((iter, value)),
            None => self.test.push((name, vec![(iter, value)])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.train_loss.is_empty() && self.lr.is_empty() && self.test.is_empty()
    }
}
