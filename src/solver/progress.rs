//! What the training loop tells those watching it, beside its log lines: each
//! iteration's numbers and each test pass's scores. The loop does not know who
//! watches (the CLI's live line, the curves file); they implement [`Progress`].

/// One finished training iteration.
#[derive(Debug, Clone, Copy)]
pub struct IterationReport {
    /// The iteration just finished (Caffe's numbering: the one the log line names).
    pub iter: i32,
    /// The solver's `max_iter`.
    pub max_iter: i32,
    /// Caffe's smoothed loss (the mean of the last `average_loss` losses).
    pub smoothed_loss: f32,
    /// The learning rate this iteration's update used.
    pub lr: f32,
    /// Whether this iteration was displayed (logged with its loss and lr).
    pub displayed: bool,
}

/// Scores of one test pass: per test net, each output's name and mean value.
pub type TestScores = [Vec<(String, f32)>];

/// An observer of a training run. Both methods are called on the training thread,
/// after the iteration's (or the test pass's) log lines.
pub trait Progress {
    fn iteration(&mut self, report: &IterationReport);
    fn tested(&mut self, iter: i32, scores: &TestScores);
}
