//! Text → tree: the pest grammar in grammar/prototxt.pest, then a walk that turns
//! pest's pairs into [`Message`]s with spans, numbers converted and strings unescaped.

use pest::iterators::Pair;
use pest::Parser;

use super::tree::{Field, Message, Span, Value};
use crate::error::{Error, Result, SourceFile};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/prototxt.pest"]
struct PrototxtParser;

/// Messages nested deeper than this are refused (protobuf's own limit is 100).
/// Checked before pest runs, so deeply nested input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 100;

/// Texts longer than this are refused before parsing. Real nets and solvers are a
/// few kilobytes (GoogLeNet's deploy net is 35 KB); the parsed tree and typed schema
/// take tens of times the text's size in memory, so a bound keeps a stray large
/// file from exhausting memory or taking minutes.
pub const MAX_TEXT_BYTES: usize = 16 << 20;

/// Texts with more names, values and brackets than this are refused before
/// parsing. GoogLeNet's train_val net, among the largest real nets, has about
/// 3,800; parsing costs hundreds of bytes per token, so this bound caps the tree
/// where the byte cap alone let tiny fields (`a:1 a:1 …`) reach gigabytes. It
/// still admits 16 MB of ordinary layers (about 2.5 million tokens).
pub const MAX_TOKENS: usize = 3_000_000;

/// Parses a whole prototxt file into its top-level message.
pub fn parse(src: &SourceFile) -> Result<Message> {
    if src.text.len() > MAX_TEXT_BYTES {
        return Err(crate::error::Error::file(
            src.name.clone(),
            format!(
                "is {} bytes; prototxt text over {} MB is refused",
                src.text.len(),
                MAX_TEXT_BYTES >> 20
            ),
        ));
    }
    let scan = prescan(src)?;
    let mut pairs =
        PrototxtParser::parse(Rule::file, &src.text).map_err(|e| syntax_error(src, e, &scan))?;
    let file = pairs.next().expect("the file rule always yields one pair");
    let span = Span::new(0, src.text.len());
    fields_into_message(src, file.into_inner(), span)
}

fn syntax_error(src: &SourceFile, e: pest::error::Error<Rule>, scan: &Scan) -> Error {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = describe_at(&src.text, pos);
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut wanted: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            wanted.sort_unstable();
            wanted.dedup();
            if wanted.is_empty() {
                format!("syntax error: unexpected {found}")
            } else {
                format!(
                    "syntax error: expected {}, found {found}",
                    wanted.join(" or ")
                )
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let help = hint_for(&src.text, pos).or_else(|| unclosed_hint(src, pos, scan));
    src.error_with_help(Span::new(pos, pos + 1), message, help)
}

fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::field | Rule::field_name | Rule::ident => "a field name",
        Rule::message => "`{`",
        Rule::list => "`[`",
        Rule::strings | Rule::string => "a value",
        Rule::number => "a value",
        Rule::EOI => "end of file",
        _ => return None,
    })
}

fn describe_at(text: &str, pos: usize) -> String {
    match text[pos.min(text.len())..].chars().next() {
        None => "end of file".to_string(),
        Some('\n') | Some('\r') => "end of line".to_string(),
        Some(c) if c.is_control() => format!("control character U+{:04X}", c as u32),
        Some(c) => format!("`{c}`"),
    }
}

/// A hint for the commonest slips: a missing colon, an unclosed string.
fn hint_for(text: &str, pos: usize) -> Option<String> {
    let rest = &text[pos.min(text.len())..];
    if rest.starts_with('"') || rest.starts_with('\'') {
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let quote = &rest[..1];
        if !rest[1..line_end].contains(quote) {
            return Some("this string is not closed on its line".to_string());
        }
    }
    None
}

/// Where the innermost bracket still open at the end of the text was opened, for
/// an error at the end of the file (the end alone does not say which is missing).
fn unclosed_hint(src: &SourceFile, pos: usize, scan: &Scan) -> Option<String> {
    let &opened = scan.unclosed.last()?;
    if pos < src.text.len() {
        return None;
    }
    let (line, col) = src.line_col(opened);
    let (bracket, closer) = match src.text.as_bytes()[opened] {
        b'{' => ("{", "}"),
        b'<' => ("<", ">"),
        _ => ("[", "]"),
    };
    Some(format!(
        "`{bracket}` opened at line {line} col {col} is never closed (add `{closer}`)"
    ))
}

/// What the pre-scan learned of a text that passed it.
struct Scan {
    /// The brackets still open at the end of the text, outermost first.
    unclosed: Vec<usize>,
}

/// Scans the text once before pest runs, skipping strings and comments: refuses
/// nesting deeper than [`MAX_DEPTH`] (pest recurses per level) and more than
/// [`MAX_TOKENS`] words, strings and brackets (pest's token queue and the tree
/// cost hundreds of bytes per token), and notes which brackets are never closed.
fn prescan(src: &SourceFile) -> Result<Scan> {
    let bytes = src.text.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    let mut tokens = 0usize;
    let mut in_word = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let word_char = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+');
        if word_char && !in_word {
            tokens += 1;
        }
        in_word = word_char;
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != q && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' | b'<' | b'[' => {
                tokens += 1;
                open.push(i);
                if open.len() > MAX_DEPTH {
                    return Err(src.error(
                        Span::new(i, i + 1),
                        format!("messages are nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
            }
            b'}' | b'>' | b']' => {
                open.pop();
            }
            _ => {}
        }
        if tokens > MAX_TOKENS {
            return Err(src.error(
                Span::new(i, i + 1),
                format!(
                    "more than {MAX_TOKENS} names, values and brackets; \
                     refused to bound memory (GoogLeNet has about 4000)"
                ),
            ));
        }
        i += 1;
    }
    Ok(Scan { unclosed: open })
}

fn span_of(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn fields_into_message<'i>(
    src: &SourceFile,
    pairs: impl Iterator<Item = Pair<'i, Rule>>,
    span: Span,
) -> Result<Message> {
    let mut fields = Vec::new();
    for pair in pairs {
        match pair.as_rule() {
            Rule::field => fields.push(field(src, pair)?),
            Rule::EOI => {}
            other => unreachable!("grammar yields only fields here, got {other:?}"),
        }
    }
    Ok(Message { fields, span })
}

fn field(src: &SourceFile, pair: Pair<Rule>) -> Result<Field> {
    let mut inner = pair.into_inner();
    let name = inner.next().expect("a field has a name");
    let value = inner.next().expect("a field has a value");
    Ok(Field {
        name: name.as_str().to_string(),
        name_span: span_of(&name),
        value: value_of(src, value)?,
    })
}

fn value_of(src: &SourceFile, pair: Pair<Rule>) -> Result<Value> {
    let span = span_of(&pair);
    Ok(match pair.as_rule() {
        Rule::message => Value::Message(fields_into_message(src, pair.into_inner(), span)?),
        Rule::list => Value::List(
            pair.into_inner()
                .map(|p| value_of(src, p))
                .collect::<Result<_>>()?,
            span,
        ),
        Rule::strings => {
            let mut bytes = Vec::new();
            for s in pair.into_inner() {
                let inner = s.into_inner().next().expect("a string has an inner part");
                unescape(src, &inner, &mut bytes)?;
            }
            Value::Str(bytes, span)
        }
        Rule::number => number(src, pair.as_str(), span)?,
        Rule::ident => Value::Ident(pair.as_str().to_string(), span),
        other => unreachable!("grammar yields only values here, got {other:?}"),
    })
}

fn number(src: &SourceFile, text: &str, span: Span) -> Result<Value> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(hex) = lower.strip_prefix("0x") {
        Some(i128::from_str_radix(hex, 16))
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        Some(i128::from_str_radix(&lower[1..], 8))
    } else if lower.bytes().all(|b| b.is_ascii_digit()) {
        Some(lower.parse::<i128>())
    } else {
        None
    };
    if let Some(parsed) = int {
        let v = parsed.map_err(|_| src.error(span, format!("integer `{text}` is too large")))?;
        return Ok(Value::Int(if neg { -v } else { v }, span));
    }
    let f = if lower.starts_with("inf") {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else {
        lower
            .trim_end_matches('f')
            .parse::<f64>()
            .map_err(|_| src.error(span, format!("`{text}` is not a number")))?
    };
    Ok(Value::Float(if neg { -f } else { f }, span))
}

fn unescape(src: &SourceFile, inner: &Pair<Rule>, out: &mut Vec<u8>) -> Result<()> {
    let text = inner.as_str();
    let base = inner.as_span().start();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let (_, e) = chars
            .next()
            .expect("the grammar guarantees a character after `\\`");
        let bad = |len: usize| {
            src.error(
                Span::new(base + i, base + i + len),
                "invalid escape sequence",
            )
        };
        match e {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'a' => out.push(0x07),
            'b' => out.push(0x08),
            'f' => out.push(0x0C),
            'v' => out.push(0x0B),
            '\\' | '\'' | '"' | '?' => out.push(e as u8),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&(_, d)) if d.is_digit(8) => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xFF) as u8);
            }
            'x' | 'X' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match chars.peek() {
                        Some(&(_, d)) if d.is_ascii_hexdigit() => {
                            v = v * 16 + d.to_digit(16).unwrap_or(0);
                            chars.next();
                            n += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            'u' | 'U' => {
                let len = if e == 'u' { 4 } else { 8 };
                let mut v = 0u32;
                for _ in 0..len {
                    let (_, d) = chars.next().ok_or_else(|| bad(2))?;
                    v = v.checked_mul(16).ok_or_else(|| bad(2 + len))?
                        + d.to_digit(16).ok_or_else(|| bad(2 + len))?;
                }
                let c = char::from_u32(v).ok_or_else(|| bad(2 + len))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(bad(2)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Message> {
        parse(&SourceFile::new("t", text))
    }

    fn only_value(text: &str) -> Value {
        p(text).unwrap().fields.remove(0).value
    }

    #[test]
    fn numbers_in_every_spelling() {
        assert!(matches!(only_value("a: 42"), Value::Int(42, _)));
        assert!(matches!(only_value("a: -7"), Value::Int(-7, _)));
        assert!(matches!(only_value("a: 0x1F"), Value::Int(31, _)));
        assert!(matches!(only_value("a: 017"), Value::Int(15, _)));
        assert!(matches!(only_value("a: 0"), Value::Int(0, _)));
        for (t, v) in [
            ("1.5", 1.5),
            (".5", 0.5),
            ("1e-3", 1e-3),
            ("2.5f", 2.5),
            ("-1E2", -100.0),
            ("3f", 3.0),
            ("1.", 1.0),
        ] {
            match only_value(&format!("a: {t}")) {
                Value::Float(f, _) => assert_eq!(f, v, "{t}"),
                other => panic!("{t}: {other:?}"),
            }
        }
        assert!(matches!(only_value("a: -inf"), Value::Float(f, _) if f == f64::NEG_INFINITY));
        assert!(matches!(only_value("a: nan"), Value::Float(f, _) if f.is_nan()));
        assert!(
            matches!(only_value("a: INFOGAIN_LOSS"), Value::Ident(s, _) if s == "INFOGAIN_LOSS")
        );
    }

    #[test]
    fn strings_concatenate_and_unescape() {
        match only_value(r#"a: "x\n\"y" 'z\x41\101'"#) {
            Value::Str(b, _) => assert_eq!(b, b"x\n\"yzAA"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn messages_separators_and_lists() {
        let m = p("# c\nlayer { a: 1, b: 2; c < d: 3 > } e: { } dim: [1, 3, 224] x: []").unwrap();
        assert_eq!(m.fields.len(), 4);
        let Value::Message(layer) = &m.fields[0].value else {
            panic!()
        };
        assert_eq!(layer.fields.len(), 3);
        let Value::List(items, _) = &m.fields[2].value else {
            panic!()
        };
        assert_eq!(items.len(), 3);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = p("layer {\n  name \"x\"\n}").unwrap_err().to_string();
        assert!(e.starts_with("t:2:8: syntax error"), "{e}");
        let e = p("a: 1\nb: \"open\n").unwrap_err().to_string();
        assert!(e.contains("not closed"), "{e}");
        let e = p("a {").unwrap_err().to_string();
        assert!(e.contains("end of file"), "{e}");
    }

    #[test]
    fn an_unclosed_bracket_names_where_it_opened() {
        let text = "layer {\n  name: 'a'\n  p {\n    x: 1\n}\nlayer { x: [1, 2 }";
        // The `]` is missing; the first `}` closes `p`, the last closes the layer.
        let e = p(text).unwrap_err().to_string();
        assert!(!e.contains("never closed"), "{e}");
        let e = p("layer {\n  name: 'a'\n  p {\n    x: 1\n}\n# end\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t:7:1: syntax error"), "{e}");
        assert!(
            e.contains("`{` opened at line 1 col 7 is never closed"),
            "{e}"
        );
        let e = p("a < b: 1").unwrap_err().to_string();
        assert!(e.contains("`<` opened at line 1 col 3"), "{e}");
    }

    #[test]
    fn too_many_tokens_are_refused_before_parsing() {
        let text = "a: 1 ".repeat(MAX_TOKENS / 2 + 1);
        let e = p(&text).unwrap_err().to_string();
        assert!(e.contains("more than 3000000 names"), "{e}");
        let fits = "a: 1 ".repeat(1000);
        assert_eq!(p(&fits).unwrap().fields.len(), 1000);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = "a {".repeat(10_000) + &"}".repeat(10_000);
        let e = p(&text).unwrap_err().to_string();
        assert!(e.contains("nested more than 100"), "{e}");
    }
}
