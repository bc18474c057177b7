//! Amounts of memory as people write and read them: "8GiB", "512 MB", 1048576.

/// Parses a size: a whole number of bytes, optionally followed by a unit (B, KB,
/// MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024; case does
/// not matter). Fractions are allowed with a unit ("1.5GiB").
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad(text)),
    };
    if let Ok(n) = number.parse::<u64>() {
        return n.checked_mul(scale).ok_or_else(|| bad(text));
    }
    let n: f64 = number.parse().map_err(|_| bad(text))?;
    let bytes = n * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad(text));
    }
    Ok(bytes as u64)
}

fn bad(text: &str) -> String {
    let shown: String = text.chars().take(40).collect();
    format!(
        "{:?} is not a memory size; write bytes (1073741824) or a number with a unit (8GiB, 512MB)",
        shown
    )
}

/// Formats a size with a binary unit and one decimal: "1.5 GiB", "512 B".
pub fn format(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bytes_and_units() {
        assert_eq!(parse("1048576"), Ok(1 << 20));
        assert_eq!(parse("8GiB"), Ok(8 << 30));
        assert_eq!(parse("8 gib"), Ok(8 << 30));
        assert_eq!(parse("512MB"), Ok(512_000_000));
        assert_eq!(parse("1.5KiB"), Ok(1536));
        assert_eq!(parse("0"), Ok(0));
    }

    #[test]
    fn refuses_what_is_not_a_size() {
        for text in [
            "",
            "GiB",
            "8 parsecs",
            "-1GiB",
            "1.2.3MB",
            "99999999999TiB",
            "1e400GB",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn formats_with_binary_units() {
        assert_eq!(format(512), "512 B");
        assert_eq!(format(1536), "1.5 KiB");
        assert_eq!(format(8 << 30), "8.0 GiB");
        assert_eq!(format(u64::MAX), "16.0 EiB");
    }
}
