//! Reading Caffe's text files into the schema: net and solver prototxt, solver
//! TOML. Legacy forms are upgraded on load, as Caffe does.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, LayerLocation, Result, SourceFile};
use crate::proto::{upgrade_net, upgrade_solver, NetParameter, SolverParameter};
use crate::text;

/// Text files larger than this are refused before parsing (see
/// [`text::parse::MAX_TEXT_BYTES`]).
pub const MAX_TEXT_BYTES: u64 = text::parse::MAX_TEXT_BYTES as u64;

/// Where a net came from, for error messages.
#[derive(Debug, Clone, Default)]
pub struct NetSource {
    pub file: Option<String>,
    /// The line each entry of `NetParameter.layer` starts on (None for layers the
    /// upgrade created).
    pub layer_lines: Vec<Option<usize>>,
    /// Where each layer starts (column) and the text of that line, for carets.
    pub layer_snippets: Vec<Option<(usize, String)>>,
}

impl NetSource {
    /// Where layer `index` of the NetParameter is, for an error about it.
    pub fn location(&self, index: usize) -> LayerLocation {
        LayerLocation {
            file: self.file.clone(),
            line: self.layer_lines.get(index).copied().flatten(),
            snippet: self
                .layer_snippets
                .get(index)
                .cloned()
                .flatten()
                .map(Box::new),
        }
    }
}

/// A net read from text, with the line of each layer for error messages.
#[derive(Debug, Clone)]
pub struct LoadedNet {
    pub net: NetParameter,
    pub source: NetSource,
}

/// Reads a file as UTF-8 text, with clear errors for binary files.
pub fn read_text(path: &Path) -> Result<SourceFile> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::file(name, "is a directory, not a prototxt file"));
    }
    if meta.len() > MAX_TEXT_BYTES {
        return Err(Error::file(
            name,
            format!(
                "is {} MB; text files over {} MB are refused",
                meta.len() >> 20,
                MAX_TEXT_BYTES >> 20
            ),
        ));
    }
    if let Some(kind) = binary_kind(path) {
        return Err(Error::file(name, format!("is {kind}, not prototxt text")));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    text_from_bytes(&name, bytes)
}

/// What a file is by its extension, when that is a binary format caffers or Caffe
/// writes: such a file is refused by name, never parsed (so no error shows a line
/// of it).
fn binary_kind(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "caffemodel" => "a binary .caffemodel (pass it with --weights)",
        "solverstate" => "a binary .solverstate (pass it with --snapshot)",
        "binaryproto" => "a binary mean file (.binaryproto)",
        "mdb" => "an LMDB database file",
        "png" | "jpg" | "jpeg" | "bmp" | "gif" => "an image",
        "gz" | "zip" | "tar" | "tgz" => "an archive",
        "npy" => "a NumPy array file",
        _ => return None,
    })
}

/// Checks that `bytes` are text, naming the file and offset when they are not.
pub fn text_from_bytes(name: &str, bytes: Vec<u8>) -> Result<SourceFile> {
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::file(
            name,
            format!(
                "contains a NUL byte at offset {pos}: this is a binary file, not prototxt text \
                 (a .caffemodel or .solverstate is binary protobuf; pass it with --weights or --snapshot)"
            ),
        ));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let pos = e.utf8_error().valid_up_to();
            return Err(Error::file(
                name,
                format!("is not UTF-8 text (invalid byte at offset {pos})"),
            ));
        }
    };
    // Control bytes other than the text format's whitespace mean binary data; a
    // file holding them is refused whole, so no error echoes a line of it.
    let control = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0B | 0x0C);
    if let Some(pos) = text.bytes().position(control) {
        return Err(Error::file(
            name,
            format!(
                "contains control byte 0x{:02x} at offset {pos}: this is a binary file, not prototxt text",
                text.as_bytes()[pos]
            ),
        ));
    }
    Ok(SourceFile::new(name, text))
}

/// Parses net prototxt text, upgrades legacy forms, and records layer lines.
pub fn net_from_source(src: &SourceFile) -> Result<LoadedNet> {
    net_from_tree(src, &text::parse(src)?)
}

fn net_from_tree(src: &SourceFile, tree: &text::Message) -> Result<LoadedNet> {
    let mut net: NetParameter = text::from_message(src, tree)?;
    // Layers in file order (`layer` or V1 `layers`; a file mixing both is refused by
    // the upgrade), and their lines.
    let starts: Vec<usize> = tree
        .fields
        .iter()
        .filter(|f| f.name == "layer" || f.name == "layers")
        .map(|f| f.name_span.start)
        .collect();
    let lines = src.lines_of(starts.iter().copied());
    let mut layer_snippets: Vec<Option<(usize, String)>> = starts
        .iter()
        .map(|&start| {
            let line_start = src.text[..start].rfind('\n').map_or(0, |i| i + 1);
            let col = src.text[line_start..start].chars().count() + 1;
            let rest = &src.text[line_start..];
            let text = rest[..rest.find('\n').unwrap_or(rest.len())].trim_end_matches('\r');
            Some((col, text.to_string()))
        })
        .collect();
    let mut layer_lines: Vec<Option<usize>> = lines.into_iter().map(Some).collect();
    let first_input = tree
        .fields
        .iter()
        .find(|f| matches!(f.name.as_str(), "input" | "input_dim" | "input_shape"))
        .map(|f| f.name_span);
    let had_inputs = !net.input.is_empty();
    upgrade_net(&mut net).map_err(|m| {
        let span = tree
            .fields
            .iter()
            .find(|f| f.name == "layers")
            .map(|f| f.name_span)
            .or(first_input)
            .unwrap_or_default();
        src.error(span, m)
    })?;
    if had_inputs {
        // The upgrade put an Input layer first; it has the line of the first `input`.
        let line = first_input.map(|s| src.line_col(s.start).0);
        layer_lines.insert(0, line);
        layer_snippets.insert(0, None);
    }
    Ok(LoadedNet {
        net,
        source: NetSource {
            file: Some(src.name.clone()),
            layer_lines,
            layer_snippets,
        },
    })
}

/// Reads a net prototxt file.
pub fn load_net(path: &Path) -> Result<LoadedNet> {
    net_from_source(&read_text(path)?)
}

/// Parses solver prototxt text and upgrades the deprecated solver_type.
pub fn solver_from_source(src: &SourceFile) -> Result<SolverParameter> {
    solver_from_tree(src, &text::parse(src)?)
}

/// Types a parsed solver tree and upgrades its deprecated solver_type.
pub fn solver_from_tree(src: &SourceFile, tree: &text::Message) -> Result<SolverParameter> {
    let mut solver: SolverParameter = text::from_message(src, tree)?;
    upgrade_solver(&mut solver).map_err(|m| {
        let span = tree
            .fields
            .iter()
            .find(|f| f.name == "solver_type")
            .map(|f| f.name_span)
            .unwrap_or_default();
        src.error(span, m)
    })?;
    Ok(solver)
}

/// An error about solver field `field`, at that field's last setting in the
/// solver's text (line:col and a caret), or naming only the file when the field
/// is not written there (a default) or the file is TOML.
pub fn solver_field_error(src: &SourceFile, field: &str, message: impl Into<String>) -> Error {
    let message = message.into();
    let tree = match src.name.ends_with(".toml") {
        true => None,
        false => text::parse(src).ok(),
    };
    let span = tree.and_then(|t| {
        t.fields
            .iter()
            .rev()
            .find(|f| f.name == field)
            .map(|f| f.name_span)
    });
    match span {
        Some(span) => src.error(span, message),
        None => Error::file(src.name.clone(), message),
    }
}

/// Reads a solver from prototxt, or from TOML when the file ends in `.toml`.
pub fn load_solver(path: &Path) -> Result<SolverParameter> {
    let src = read_text(path)?;
    if path.extension().is_some_and(|e| e == "toml") {
        let mut solver: SolverParameter = from_toml(&src)?;
        upgrade_solver(&mut solver).map_err(|m| Error::file(src.name.clone(), m))?;
        Ok(solver)
    } else {
        solver_from_source(&src)
    }
}

/// Deserializes TOML through the same schema, with TOML's located errors.
pub fn from_toml<T: DeserializeOwned>(src: &SourceFile) -> Result<T> {
    toml::from_str(&src.text).map_err(|e| {
        let span = e
            .span()
            .map(|r| crate::text::Span::new(r.start, r.end))
            .unwrap_or_default();
        src.error(span, e.message().to_string())
    })
}

/// Whether a parsed file is a solver rather than a net, decided by content: a
/// solver names a net or a learning rate; a net has layers.
pub fn looks_like_solver(tree: &text::Message) -> bool {
    const SOLVER_ONLY: &[&str] = &[
        "net",
        "net_param",
        "train_net",
        "test_net",
        "base_lr",
        "lr_policy",
        "max_iter",
        "solver_mode",
        "test_iter",
        "snapshot_prefix",
    ];
    tree.fields
        .iter()
        .any(|f| SOLVER_ONLY.contains(&f.name.as_str()))
        && !tree
            .fields
            .iter()
            .any(|f| f.name == "layer" || f.name == "layers")
}

/// A parsed text file, as a net or a solver.
pub enum Loaded {
    Net(Box<LoadedNet>),
    Solver(Box<SolverParameter>, SourceFile),
}

/// Reads any Caffe text file, deciding by content whether it is a net or a solver.
pub fn load_any(path: &Path) -> Result<Loaded> {
    let src = read_text(path)?;
    if path.extension().is_some_and(|e| e == "toml") {
        let mut solver: SolverParameter = from_toml(&src)?;
        upgrade_solver(&mut solver).map_err(|m| Error::file(src.name.clone(), m))?;
        return Ok(Loaded::Solver(Box::new(solver), src));
    }
    let tree = text::parse(&src)?;
    if looks_like_solver(&tree) {
        Ok(Loaded::Solver(
            Box::new(solver_from_tree(&src, &tree)?),
            src,
        ))
    } else {
        Ok(Loaded::Net(Box::new(net_from_tree(&src, &tree)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_bytes_are_refused_without_echo() {
        let e = text_from_bytes("m.bin", b"\x0a\x05lenet\x12\x03abc\n".to_vec())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "m.bin: contains control byte 0x05 at offset 1: this is a binary file, not prototxt text"
        );
        // The text format's own whitespace is text.
        assert!(text_from_bytes("t", b"a: 1\t\r\n\x0b\x0cb: 2".to_vec()).is_ok());
    }

    #[test]
    fn binary_formats_are_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("caffers-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.CaffeModel");
        std::fs::write(&path, "name: 'looks like text'").unwrap();
        let e = read_text(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("is a binary .caffemodel (pass it with --weights), not prototxt text"),
            "{e}"
        );
        assert!(!e.contains("looks like text"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn solver_errors_point_at_the_last_setting_of_the_field() {
        let src = SourceFile::new("s.prototxt", "base_lr: 1\nmax_iter: 5\n  max_iter: -1\n");
        let e = solver_field_error(&src, "max_iter", "max_iter must not be negative").to_string();
        assert!(
            e.starts_with("s.prototxt:3:3: max_iter must not be negative"),
            "{e}"
        );
        // A default (not written) or a TOML file: the file alone.
        let e = solver_field_error(&src, "lr_policy", "lr_policy is not set").to_string();
        assert_eq!(e, "s.prototxt: lr_policy is not set");
        let toml = SourceFile::new("s.toml", "max_iter = -1\n");
        let e = solver_field_error(&toml, "max_iter", "bad").to_string();
        assert_eq!(e, "s.toml: bad");
    }
}
