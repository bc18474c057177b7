//! Which weights a resumed run loads. A solverstate names its caffemodel by the
//! path it was written to (`learned_net`, often absolute); a state copied or backed
//! up elsewhere would then silently pair with whatever file now sits at that path —
//! perhaps another run's. So the caffemodel beside the state comes first.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The weights to load with `state_path`, and a log line saying which file it is
/// and why. `learned_net` is the path the state names.
pub fn weights_for_state(state_path: &Path, learned_net: &str) -> Result<(PathBuf, String)> {
    let named = PathBuf::from(learned_net);
    let dir = state_path.parent().unwrap_or(Path::new(""));
    let state_name = state_path.file_name().unwrap_or_default().to_string_lossy();
    // `<x>.solverstate` → `<x>.caffemodel`, then the named file's name, both beside it.
    let twin = state_name
        .strip_suffix(".solverstate")
        .map(|stem| dir.join(format!("{stem}.caffemodel")));
    let beside_named = named.file_name().map(|file| dir.join(file));
    for candidate in twin.iter().chain(&beside_named) {
        if candidate.is_file() {
            let note = if same_file(candidate, &named) {
                format!("Loading weights from {}", candidate.display())
            } else {
                format!(
                    "Loading weights from {}, the caffemodel beside {} (the state names {})",
                    candidate.display(),
                    state_path.display(),
                    named.display()
                )
            };
            return Ok((candidate.clone(), note));
        }
    }
    if named.is_file() {
        let note = format!(
            "Loading weights from {}, named by {} (none beside it)",
            named.display(),
            state_path.display()
        );
        return Ok((named, note));
    }
    let tried: Vec<String> = twin
        .iter()
        .chain(&beside_named)
        .map(|p| format!("`{}`", p.display()))
        .collect();
    Err(Error::file(
        state_path.display().to_string(),
        format!(
            "its weights are missing: it names `{}`, and nothing is beside it at {}",
            named.display(),
            tried.join(" or ")
        ),
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(case: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("caffers-resume-{case}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("run")).unwrap();
        std::fs::create_dir_all(d.join("backup")).unwrap();
        d
    }

    #[test]
    fn the_twin_beside_the_state_wins_over_the_named_file() {
        let d = dir("twin");
        let named = d.join("run/a_iter_20.caffemodel");
        std::fs::write(&named, b"other run").unwrap();
        let state = d.join("backup/a_iter_20.solverstate");
        let twin = d.join("backup/a_iter_20.caffemodel");
        std::fs::write(&twin, b"ours").unwrap();
        let (chosen, note) = weights_for_state(&state, &named.display().to_string()).unwrap();
        assert_eq!(chosen, twin);
        assert!(
            note.contains("beside") && note.contains("run/a_iter_20"),
            "{note}"
        );
    }

    #[test]
    fn falls_back_to_the_named_name_beside_then_to_the_named_path() {
        let d = dir("fallback");
        let named = d.join("run/w.caffemodel");
        let state = d.join("backup/s.solverstate");
        let beside = d.join("backup/w.caffemodel");
        std::fs::write(&beside, b"x").unwrap();
        let learned = named.display().to_string();
        assert_eq!(weights_for_state(&state, &learned).unwrap().0, beside);
        std::fs::remove_file(&beside).unwrap();
        let e = weights_for_state(&state, &learned).unwrap_err().to_string();
        assert!(
            e.contains("s.solverstate") && e.contains("weights are missing"),
            "{e}"
        );
        std::fs::write(&named, b"x").unwrap();
        let (chosen, note) = weights_for_state(&state, &learned).unwrap();
        assert_eq!(chosen, named);
        assert!(note.contains("none beside it"), "{note}");
    }

    #[test]
    fn the_usual_case_names_one_file() {
        let d = dir("usual");
        let model = d.join("run/a_iter_5.caffemodel");
        std::fs::write(&model, b"x").unwrap();
        let state = d.join("run/a_iter_5.solverstate");
        let (chosen, note) = weights_for_state(&state, &model.display().to_string()).unwrap();
        assert_eq!(chosen, model);
        assert_eq!(note, format!("Loading weights from {}", model.display()));
    }
}
