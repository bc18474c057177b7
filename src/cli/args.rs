//! Parsers for flag values the commands share (`--phase`, `--input-shape`).

use crate::proto::Phase;
use crate::shape::Shape;

pub fn parse_phase(s: &str) -> Result<Phase, String> {
    match s.to_ascii_lowercase().as_str() {
        "train" => Ok(Phase::Train),
        "test" => Ok(Phase::Test),
        _ => Err(format!("unknown phase `{s}` (use train or test)")),
    }
}

pub fn parse_input_shape(s: &str) -> Result<(String, Shape), String> {
    let (name, dims) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=N,C,H,W"))?;
    let shape = dims
        .split([',', 'x', '×'])
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{d}` in `{s}` is not a dimension"))
        })
        .collect::<Result<Shape, String>>()?;
    Ok((name.to_string(), shape))
}
