//! Image lists as Caffe's ImageDataLayer and convert_imageset read them: one
//! `path label` per line, and the shuffle both apply to the list.

use std::path::Path;

use crate::rng::Rng;

/// Reads an image list: `path label` per line, split at the last space.
pub fn read_list(path: &Path) -> Result<Vec<(String, i32)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read image list `{}`: {e}", path.display()))?;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let (file, label) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("{}:{}: expected `path label`", path.display(), i + 1))?;
        let label: i32 = label.trim().parse().map_err(|_| {
            format!(
                "{}:{}: the label `{label}` is not an integer",
                path.display(),
                i + 1
            )
        })?;
        lines.push((file.to_string(), label));
    }
    Ok(lines)
}

/// Caffe's shuffle (std::random_shuffle order: from the back, swap with a random
/// earlier-or-same position).
pub fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_the_last_space() {
        let dir = std::env::temp_dir().join(format!("caffers-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("list.txt");
        std::fs::write(&list, "a b.jpg 3\n\nc.png 0\n").unwrap();
        assert_eq!(
            read_list(&list).unwrap(),
            vec![("a b.jpg".to_string(), 3), ("c.png".to_string(), 0)]
        );
        std::fs::write(&list, "c.png zero\n").unwrap();
        let e = read_list(&list).unwrap_err();
        assert!(e.contains(":1: the label `zero` is not an integer"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shuffle_permutes() {
        let mut v: Vec<u32> = (0..20).collect();
        shuffle(&mut v, &mut Rng::new(7));
        assert_ne!(v, (0..20).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..20).collect::<Vec<_>>());
    }
}
