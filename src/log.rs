//! Caffe's log lines, in glog's format (`I1128 04:13:19.123456  1234 solver.cpp:218] …`),
//! so tools written for Caffe logs (tools/extra/parse_log.py) read ours unchanged.
//! The library does not choose where lines go: they go to the sink the program
//! installs with [`set_sink`] (the CLI's is stderr, as Caffe's tools log with
//! `alsologtostderr`); with none installed they are dropped.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where finished log lines go (one call per line, without the newline).
pub type Sink = Box<dyn Fn(&str) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the sink every later line goes to. There is one per process: a
/// second call is refused and returns the sink it was given.
pub fn set_sink(sink: Sink) -> Result<(), Sink> {
    SINK.set(sink)
}

fn emit(line: &str) {
    if let Some(sink) = SINK.get() {
        sink(line);
    }
}

/// Civil date (month, day) and time of day from Unix seconds (UTC).
fn civil(secs: u64) -> (u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        month,
        day,
        (rem / 3600) as u32,
        ((rem / 60) % 60) as u32,
        (rem % 60) as u32,
    )
}

/// Formats one glog INFO line.
pub fn format_line(source: &str, message: &str) -> String {
    format_with_severity('I', source, message)
}

/// Formats one glog line of the given severity letter (I, W, E).
fn format_with_severity(severity: char, source: &str, message: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (mo, d, h, mi, s) = civil(now.as_secs());
    format!(
        "{severity}{mo:02}{d:02} {h:02}:{mi:02}:{s:02}.{:06} {:>6} {source}] {message}",
        now.subsec_micros(),
        std::process::id()
    )
}

/// Logs one INFO line.
pub fn info(source: &str, message: &str) {
    emit(&format_line(source, message));
}

/// Logs one WARNING line (glog's `W…`).
pub fn warning(source: &str, message: &str) {
    emit(&format_with_severity('W', source, message));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1, 1, 0, 0, 0));
        // 2026-11-28 04:13:19 UTC
        assert_eq!(civil(1_795_839_199), (11, 28, 4, 13, 19));
    }

    #[test]
    fn glog_shape() {
        let l = format_line("solver.cpp:218", "Iteration 100, loss = 0.5");
        let head: Vec<&str> = l.split_whitespace().collect();
        assert!(head[0].starts_with('I') && head[0].len() == 5, "{l}");
        assert_eq!(head[1].len(), 15, "{l}");
        assert!(l.ends_with("solver.cpp:218] Iteration 100, loss = 0.5"));
    }
}
