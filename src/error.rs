//! The one error type of caffers. Every error says where: a file with line and
//! column for text, a layer (and the line it starts on) for graph errors, a path
//! for I/O.

use std::fmt;
use std::path::{Path, PathBuf};

/// A byte range in a source file: where a token, field or message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// A source file held in memory, for turning byte offsets into line:col and for
/// showing the offending line.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// The 1-based lines of many byte offsets, given in ascending order, in one pass
    /// over the text (calling [`line_col`](Self::line_col) for each would be
    /// quadratic on large files).
    pub fn lines_of(&self, offsets: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let bytes = self.text.as_bytes();
        let (mut pos, mut line) = (0usize, 1usize);
        offsets
            .into_iter()
            .map(|offset| {
                let offset = offset.min(bytes.len());
                if offset < pos {
                    // Not ascending after all: count from the start.
                    return self.line_col(offset).0;
                }
                line += bytes[pos..offset].iter().filter(|&&b| b == b'\n').count();
                pos = offset;
                line
            })
            .collect()
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        self.text
            .split('\n')
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// A located error at `span`.
    pub fn error(&self, span: Span, message: impl Into<String>) -> Error {
        self.error_with_help(span, message, None)
    }

    pub fn error_with_help(
        &self,
        span: Span,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Error {
        let (line, col) = self.line_col(span.start);
        let text = self.line_text(line).to_string();
        // The caret covers the span, clipped to the line it starts on.
        let (_, end_col) = self.line_col(span.end.max(span.start));
        let same_line = self.line_col(span.end.max(span.start)).0 == line;
        let width = if same_line && end_col > col {
            end_col - col
        } else {
            1
        };
        Error::Source(Box::new(SourceError {
            file: self.name.clone(),
            line,
            col,
            message: message.into(),
            help,
            line_text: text,
            caret_width: width,
        }))
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// An error at a place in a text file.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
    pub line_text: String,
    pub caret_width: usize,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, " — {help}")?;
        }
        f.write_str(&caret_lines(
            self.line,
            &self.line_text,
            self.col,
            self.caret_width,
        ))
    }
}

/// How many characters of a source line an error shows at most.
const SHOWN_CHARS: usize = 120;

/// `\n  |\nN | line\n  | ^^^`: the line (tabs shown as spaces; a window around the
/// column when the line is long) and a caret of `width` under column `col`.
fn caret_lines(line: usize, text: &str, col: usize, width: usize) -> String {
    let num = line.to_string();
    let pad = " ".repeat(num.len());
    let chars: Vec<char> = text
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            // Raw control characters would garble the terminal; keep the columns.
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    // Start the window so the caret falls in its first half.
    let skip = if col > SHOWN_CHARS / 2 {
        col - SHOWN_CHARS / 4
    } else {
        0
    };
    let mut shown: String = chars.iter().skip(skip).take(SHOWN_CHARS).collect();
    let mut caret_col = col - skip;
    if skip > 0 {
        shown.insert(0, '…');
        caret_col += 1;
    }
    if chars.len() > skip + SHOWN_CHARS {
        shown.push('…');
    }
    let width = width.clamp(1, SHOWN_CHARS.saturating_sub(caret_col).max(1));
    format!(
        "\n{pad} |\n{num} | {shown}\n{pad} | {}{}",
        " ".repeat(caret_col - 1),
        "^".repeat(width)
    )
}

/// Where a layer was defined, for graph errors.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerLocation {
    pub file: Option<String>,
    pub line: Option<usize>,
    /// The column the layer starts at and the text of its first line, to show
    /// under the message with a caret.
    pub snippet: Option<Box<(usize, String)>>,
}

impl LayerLocation {
    /// The layer's first line with a caret under `layer`, on lines of their own
    /// after the message; empty when the text is not known.
    pub fn snippet(&self) -> String {
        match (self.line, &self.snippet) {
            (Some(line), Some(snippet)) => {
                let (col, text) = &**snippet;
                let word = text
                    .chars()
                    .skip(col - 1)
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .count();
                caret_lines(line, text, *col, word)
            }
            _ => String::new(),
        }
    }
}

impl fmt::Display for LayerLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, " ({file}:{line})"),
            (Some(file), None) => write!(f, " ({file})"),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Text and schema errors: file:line:col with the line and a caret.
    #[error("{0}")]
    Source(Box<SourceError>),

    /// A whole-file problem with no position (not text, too large, …).
    #[error("{file}: {message}")]
    File { file: String, message: String },

    /// A problem with one layer of a net: undefined bottoms, shape mismatches, …
    #[error("layer `{}` (type {}){location}: {message}{}", shown(layer), shown(layer_type), .location.snippet())]
    Layer {
        layer: String,
        layer_type: String,
        location: LayerLocation,
        message: String,
    },

    /// A net-level problem that is not one layer's fault.
    #[error("net `{}`: {message}", shown(net))]
    Net { net: String, message: String },

    /// A file operation failed; `direction` says whether reading or writing.
    #[error("cannot {direction} `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        direction: IoDirection,
        #[source]
        source: std::io::Error,
    },

    /// Bad command-line use.
    #[error("{0}")]
    Usage(String),
}

/// Which way a failed file operation went, so a message says "cannot write" for a
/// full disk rather than "cannot read".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoDirection {
    Read,
    Write,
}

impl fmt::Display for IoDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoDirection::Read => "read",
            IoDirection::Write => "write",
        })
    }
}

impl Error {
    /// A failure reading `path` (opening, statting or reading it).
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            direction: IoDirection::Read,
            source,
        }
    }

    /// A failure writing `path` (creating, writing, syncing, renaming or removing it).
    pub fn io_write(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            direction: IoDirection::Write,
            source,
        }
    }

    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::File {
            file: file.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of a user's token a message quotes before cutting it short.
const SHOWN_TOKEN_CHARS: usize = 40;

/// A user's token (a name, a value, a record key) as a message shows it: control
/// and other invisible characters escaped, so a message never carries raw binary,
/// and cut after its first 40 characters with its length in bytes, so a 10 MB name
/// costs a line, not 10 MB. Every message that quotes user input goes through here.
pub fn shown(token: &str) -> String {
    shown_of(token, token.len())
}

/// [`shown`] for bytes that may not be UTF-8 (record keys, binary strings): invalid
/// bytes become `\xNN`.
pub fn shown_bytes(bytes: &[u8]) -> String {
    // Enough bytes for the characters shown, however wide each is.
    let head = &bytes[..bytes.len().min(SHOWN_TOKEN_CHARS * 4)];
    let mut text = String::new();
    for chunk in head.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02x}"));
        }
    }
    shown_of(&text, bytes.len())
}

/// `text` escaped and cut as [`shown`] says, naming `len` bytes when cut.
fn shown_of(text: &str, len: usize) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == SHOWN_TOKEN_CHARS {
            out.push_str(&format!("… ({len} bytes)"));
            break;
        }
        if c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Words longer than this get no suggestion: the edit distance is quadratic in
/// length, and no field or value name is near so long a word.
const MAX_SUGGESTED_WORD: usize = 64;

/// The candidate nearest to `word`, if it is near enough to be a likely typo:
/// within a third of its length in edits (transpositions count once), or very
/// similar by Jaro-Winkler (shared prefixes, as in `kernel` / `kernel_size`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.len() > MAX_SUGGESTED_WORD {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(&str, usize, f64)> = None;
    for c in candidates {
        let cl = c.to_ascii_lowercase();
        let edits = strsim::osa_distance(&lower, &cl);
        let sim = strsim::jaro_winkler(&lower, &cl);
        let near = edits <= (lower.len().max(cl.len()) / 3).max(1) || sim >= 0.88;
        let better = best.is_none_or(|(_, e, s)| edits < e || (edits == e && sim > s));
        if near && better {
            best = Some((c, edits, sim));
        }
    }
    best.map(|(c, _, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let f = SourceFile::new("x", "ab\ncdé f\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // é is two bytes but one column.
        assert_eq!(f.line_col(8), (2, 5));
    }

    #[test]
    fn io_errors_say_which_way_they_went() {
        let gone = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let read = Error::io(Path::new("a.caffemodel"), gone()).to_string();
        let write = Error::io_write(Path::new("b.caffemodel"), gone()).to_string();
        assert!(read.starts_with("cannot read `a.caffemodel`: "), "{read}");
        assert!(
            write.starts_with("cannot write `b.caffemodel`: "),
            "{write}"
        );
    }

    #[test]
    fn tokens_are_escaped_and_cut_short() {
        assert_eq!(shown("conv1"), "conv1");
        assert_eq!(shown("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        let long = "x".repeat(10 << 20);
        let s = shown(&long);
        assert_eq!(s, format!("{}… (10485760 bytes)", "x".repeat(40)));
        assert_eq!(shown_bytes(b"k\xff\x00"), "k\\xff\\u{0}");
        let s = shown_bytes(&[0xAB; 100_000]);
        assert!(s.ends_with("… (100000 bytes)") && s.len() < 300, "{s}");
        assert!(did_you_mean(&long, ["kernel_size"]).is_none());
    }

    #[test]
    fn suggestions_pick_the_nearest_name() {
        let names = ["kernel_size", "kernel_h", "pad", "stride"];
        assert_eq!(did_you_mean("kernal_size", names), Some("kernel_size"));
        assert_eq!(did_you_mean("zzzz", names), None);
    }

    #[test]
    fn source_errors_show_a_caret() {
        let f = SourceFile::new("net.prototxt", "layer {\n  kernal_size: 5\n}\n");
        let e = f.error_with_help(
            Span::new(10, 21),
            "unknown field",
            Some("did you mean `kernel_size`?".into()),
        );
        let text = e.to_string();
        assert!(
            text.starts_with("net.prototxt:2:3: unknown field — did you mean `kernel_size`?"),
            "{text}"
        );
        assert!(
            text.contains("2 |   kernal_size: 5\n  |   ^^^^^^^^^^^"),
            "{text}"
        );
    }
}
