//! `--set FIELD=VALUE`: solver fields given on the command line. Each is read as
//! the text `FIELD: VALUE` by the same parser and schema as a solver file, so a
//! typo or a bad value gets the file's errors ("did you mean …") naming the
//! `--set` argument; then it replaces every setting of FIELD in the solver's
//! text before the whole solver is typed, upgraded and validated.

use std::path::Path;

use crate::error::{Error, Result, SourceFile};
use crate::load::{load_solver, read_text, solver_from_tree};
use crate::proto::SolverParameter;
use crate::text;

/// One `--set FIELD=VALUE`, parsed and checked against the schema on its own.
#[derive(Debug, Clone)]
pub struct SolverOverride {
    pub field: String,
    /// The text `FIELD: VALUE`, named after the argument, for errors about it.
    pub source: SourceFile,
    tree: text::Message,
}

impl SolverOverride {
    /// Parses `FIELD=VALUE`. A bare VALUE that is not prototxt by itself (a path,
    /// a policy name) is read as a quoted string, so `--set lr_policy=step` and
    /// `--set snapshot_prefix=out/run1` work without shell-quoted quotes.
    pub fn parse(arg: &str) -> Result<Self> {
        let (field, value) = arg.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "`--set {arg}` is not FIELD=VALUE (e.g. --set base_lr=0.01)"
            ))
        })?;
        let (field, value) = (field.trim(), value.trim());
        let written = Self::read(arg, field, value);
        let bare = !value.starts_with(['"', '\'', '[', '{']);
        match written {
            Err(first) if bare => Self::read(arg, field, &format!("{value:?}")).map_err(|_| first),
            other => other,
        }
    }

    fn read(arg: &str, field: &str, value: &str) -> Result<Self> {
        let source = SourceFile::new(format!("--set {arg}"), format!("{field}: {value}"));
        let tree = text::parse(&source)?;
        if tree.fields.len() != 1 || tree.fields[0].name != field {
            return Err(Error::Usage(format!(
                "`--set {arg}` must set exactly one field, `{field}`"
            )));
        }
        // Typed alone: unknown fields and bad values are reported against the
        // argument, not against the merged solver.
        text::from_message::<SolverParameter>(&source, &tree)?;
        Ok(SolverOverride {
            field: field.to_string(),
            source,
            tree,
        })
    }
}

/// Reads a solver file (prototxt or TOML) with `overrides` applied, later ones
/// winning. Also returns the text the solver's own settings were read from, for
/// errors about fields the overrides did not touch.
pub fn load_solver_with(
    path: &Path,
    overrides: &[SolverOverride],
) -> Result<(SolverParameter, SourceFile)> {
    let src = if path.extension().is_some_and(|e| e == "toml") {
        // A TOML solver is typed first, then merged as the prototxt it stands for.
        let typed = load_solver(path)?;
        SourceFile::new(path.display().to_string(), text::to_prototxt(&typed))
    } else {
        read_text(path)?
    };
    let mut tree = text::parse(&src)?;
    for o in overrides {
        tree.fields.retain(|f| f.name != o.field);
        tree.fields.extend(o.tree.fields.iter().cloned());
    }
    Ok((solver_from_tree(&src, &tree)?, src))
}

/// The source an error about solver field `field` belongs to: the last `--set` of
/// it, else the solver's own text.
pub fn source_of<'a>(
    field: &str,
    overrides: &'a [SolverOverride],
    solver: &'a SourceFile,
) -> &'a SourceFile {
    overrides
        .iter()
        .rev()
        .find(|o| o.field == field)
        .map_or(solver, |o| &o.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solver_file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("caffers-set-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn overrides_replace_the_files_settings() {
        let path = solver_file(
            "s.prototxt",
            "net: \"n.prototxt\"\nbase_lr: 0.01\nmax_iter: 100\ntest_iter: 5\ntest_iter: 6\n",
        );
        let sets: Vec<SolverOverride> = [
            "base_lr=0.5",
            "max_iter=3",
            "max_iter=4",
            "lr_policy=step",
            "test_iter=[7]",
        ]
        .iter()
        .map(|a| SolverOverride::parse(a).unwrap())
        .collect();
        let (s, _) = load_solver_with(&path, &sets).unwrap();
        assert_eq!(s.base_lr(), 0.5);
        assert_eq!(s.max_iter(), 4);
        assert_eq!(s.lr_policy(), "step");
        assert_eq!(s.test_iter, [7]);
        assert_eq!(s.net(), "n.prototxt");
        let toml = solver_file("s.toml", "net = \"n.prototxt\"\nbase_lr = 0.01\n");
        let (s, _) = load_solver_with(&toml, &sets[..1]).unwrap();
        assert_eq!((s.base_lr(), s.net()), (0.5, "n.prototxt"));
    }

    #[test]
    fn typos_and_bad_values_name_the_argument() {
        let e = SolverOverride::parse("bse_lr=0.5").unwrap_err().to_string();
        assert!(e.starts_with("--set bse_lr=0.5:1:1"), "{e}");
        assert!(e.contains("base_lr"), "{e}");
        let e = SolverOverride::parse("max_iter=lots")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--set max_iter=lots:1:11"), "{e}");
        let e = SolverOverride::parse("max_iter").unwrap_err().to_string();
        assert!(e.contains("is not FIELD=VALUE"), "{e}");
        let e = SolverOverride::parse("max_iter=1 base_lr: 2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one field"), "{e}");
    }
}
