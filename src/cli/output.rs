//! Where the program's log lines go: stderr as always (Caffe's `alsologtostderr`),
//! and, during `train`, also a log file; on a terminal they are printed above the
//! live progress line instead of through it. The library's [`crate::log`] calls the
//! one sink installed here.

use std::fs::File;
use std::io::{IsTerminal, LineWriter, Write};
use std::sync::{Mutex, MutexGuard};

use indicatif::ProgressBar;

struct Output {
    /// A copy of every line, one `write` per line so `tail -f` sees whole lines.
    file: Option<LineWriter<File>>,
    /// The live line that lines are printed above while it shows.
    bar: Option<ProgressBar>,
}

static OUTPUT: Mutex<Output> = Mutex::new(Output {
    file: None,
    bar: None,
});

fn output() -> MutexGuard<'static, Output> {
    // A panic while a line was written leaves nothing half-done worth refusing.
    OUTPUT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the sink for [`crate::log`]'s lines. When the reader of stderr is gone
/// (`caffers train … 2>&1 | head`), training stops as on Ctrl-C, with a final
/// snapshot: nobody is watching a run that cannot log.
pub fn install_log_sink() {
    let _ = crate::log::set_sink(Box::new(write_line));
}

fn write_line(line: &str) {
    let mut out = output();
    if let Some(file) = &mut out.file {
        // A full disk must not stop training; the lines still reach stderr.
        let _ = writeln!(file, "{line}");
    }
    if let Some(bar) = &out.bar {
        bar.suspend(|| write_stderr(line));
    } else {
        write_stderr(line);
    }
}

fn write_stderr(line: &str) {
    if let Err(e) = writeln!(std::io::stderr().lock(), "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            crate::solver::solve::STOP_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// From now on every line is also written to `file`.
pub fn copy_lines_to(file: File) {
    output().file = Some(LineWriter::new(file));
}

/// Whether a live line can be shown: stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Ends the line the cursor is on (the live line's, once it is finished).
pub fn end_line() {
    let _ = writeln!(std::io::stderr().lock());
}

/// Lines are printed above `bar` while it shows (`None`: straight to stderr).
pub fn show_above(bar: Option<ProgressBar>) {
    output().bar = bar;
}
