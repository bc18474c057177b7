//! Schema → text: a serde Serializer that writes any schema message as prototxt,
//! one field per line, two-space indents, unset fields left out, so that
//! `parse(print(x)) == x`.

use std::fmt::{self, Write};

use serde::ser::{self, Impossible, Serialize};

/// Prints a message as prototxt text.
pub fn to_prototxt<T: Serialize>(message: &T) -> String {
    let mut out = String::new();
    message
        .serialize(MessageWriter {
            out: &mut out,
            indent: 0,
        })
        .expect("every schema message prints");
    out
}

/// Why a value cannot be printed (only non-schema types hit this).
#[derive(Debug)]
pub struct PrintError(String);

impl fmt::Display for PrintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrintError {}

impl ser::Error for PrintError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PrintError(msg.to_string())
    }
}

type R = Result<(), PrintError>;

fn unsupported(what: &str) -> PrintError {
    PrintError(format!("{what} has no prototxt form"))
}

/// Writes the fields of a message (the top level, or inside `{ }`).
struct MessageWriter<'o> {
    out: &'o mut String,
    indent: usize,
}

impl<'o> ser::SerializeStruct for MessageWriter<'o> {
    type Ok = ();
    type Error = PrintError;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> R {
        value.serialize(FieldWriter {
            out: self.out,
            indent: self.indent,
            key,
        })
    }

    fn end(self) -> R {
        Ok(())
    }
}

macro_rules! not_a_message {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> R { Err(unsupported("a bare value")) })*
    };
}

impl<'o> ser::Serializer for MessageWriter<'o> {
    type Ok = ();
    type Error = PrintError;
    type SerializeSeq = Impossible<(), PrintError>;
    type SerializeTuple = Impossible<(), PrintError>;
    type SerializeTupleStruct = Impossible<(), PrintError>;
    type SerializeTupleVariant = Impossible<(), PrintError>;
    type SerializeMap = Impossible<(), PrintError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), PrintError>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, PrintError> {
        Ok(self)
    }

    not_a_message! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_str(&str); serialize_bytes(&[u8]);
        serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> R {
        Err(unsupported("a data-carrying enum"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, PrintError> {
        Err(unsupported("a bare list"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, PrintError> {
        Err(unsupported("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, PrintError> {
        Err(unsupported("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, PrintError> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, PrintError> {
        Err(unsupported("a map"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, PrintError> {
        Err(unsupported("a struct variant"))
    }
}

/// Writes one field: `key: value` for scalars, `key { … }` for messages, and one
/// such line per element for repeated fields.
struct FieldWriter<'o> {
    out: &'o mut String,
    indent: usize,
    key: &'static str,
}

impl<'o> FieldWriter<'o> {
    fn line(self, value: impl fmt::Display) -> R {
        let pad = "  ".repeat(self.indent);
        writeln!(self.out, "{pad}{}: {value}", self.key).map_err(|e| PrintError(e.to_string()))
    }
}

/// Floats print in the shortest form that reads back to the same value.
fn float_text(v: f64, debug: String) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        debug
    }
}

/// A double-quoted string with C-style escapes for anything unprintable.
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            for c in text.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                        let _ = write!(s, "\\{:03o}", c as u32);
                    }
                    c => s.push(c),
                }
            }
        }
        Err(_) => {
            for &b in bytes {
                match b {
                    b'"' => s.push_str("\\\""),
                    b'\\' => s.push_str("\\\\"),
                    0x20..=0x7E => s.push(b as char),
                    _ => {
                        let _ = write!(s, "\\{b:03o}");
                    }
                }
            }
        }
    }
    s.push('"');
    s
}

impl<'o> ser::Serializer for FieldWriter<'o> {
    type Ok = ();
    type Error = PrintError;
    type SerializeSeq = Repeated<'o>;
    type SerializeTuple = Impossible<(), PrintError>;
    type SerializeTupleStruct = Impossible<(), PrintError>;
    type SerializeTupleVariant = Impossible<(), PrintError>;
    type SerializeMap = Impossible<(), PrintError>;
    type SerializeStruct = Nested<'o>;
    type SerializeStructVariant = Impossible<(), PrintError>;

    fn serialize_bool(self, v: bool) -> R {
        self.line(v)
    }
    fn serialize_i8(self, v: i8) -> R {
        self.line(v)
    }
    fn serialize_i16(self, v: i16) -> R {
        self.line(v)
    }
    fn serialize_i32(self, v: i32) -> R {
        self.line(v)
    }
    fn serialize_i64(self, v: i64) -> R {
        self.line(v)
    }
    fn serialize_u8(self, v: u8) -> R {
        self.line(v)
    }
    fn serialize_u16(self, v: u16) -> R {
        self.line(v)
    }
    fn serialize_u32(self, v: u32) -> R {
        self.line(v)
    }
    fn serialize_u64(self, v: u64) -> R {
        self.line(v)
    }
    fn serialize_f32(self, v: f32) -> R {
        self.line(float_text(v as f64, format!("{v:?}")))
    }
    fn serialize_f64(self, v: f64) -> R {
        self.line(float_text(v, format!("{v:?}")))
    }
    fn serialize_char(self, v: char) -> R {
        self.line(quote(v.to_string().as_bytes()))
    }
    fn serialize_str(self, v: &str) -> R {
        self.line(quote(v.as_bytes()))
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        self.line(quote(v))
    }
    fn serialize_none(self) -> R {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> R {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> R {
        self.line(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> R {
        Err(unsupported("a data-carrying enum"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Repeated<'o>, PrintError> {
        Ok(Repeated {
            out: self.out,
            indent: self.indent,
            key: self.key,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, PrintError> {
        Err(unsupported("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, PrintError> {
        Err(unsupported("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, PrintError> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, PrintError> {
        Err(unsupported("a map"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Nested<'o>, PrintError> {
        let pad = "  ".repeat(self.indent);
        let _ = writeln!(self.out, "{pad}{} {{", self.key);
        Ok(Nested {
            inner: MessageWriter {
                out: self.out,
                indent: self.indent + 1,
            },
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, PrintError> {
        Err(unsupported("a struct variant"))
    }
}

/// The elements of a repeated field, each printed as its own `key: …` entry.
struct Repeated<'o> {
    out: &'o mut String,
    indent: usize,
    key: &'static str,
}

impl<'o> ser::SerializeSeq for Repeated<'o> {
    type Ok = ();
    type Error = PrintError;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> R {
        value.serialize(FieldWriter {
            out: self.out,
            indent: self.indent,
            key: self.key,
        })
    }

    fn end(self) -> R {
        Ok(())
    }
}

/// A `key { … }` sub-message; closes its brace at the end.
struct Nested<'o> {
    inner: MessageWriter<'o>,
}

impl<'o> ser::SerializeStruct for Nested<'o> {
    type Ok = ();
    type Error = PrintError;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> R {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }

    fn end(self) -> R {
        let pad = "  ".repeat(self.inner.indent - 1);
        writeln!(self.inner.out, "{pad}}}").map_err(|e| PrintError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use crate::proto::{BlobShape, FillerParameter, VarianceNorm};

    #[test]
    fn prints_and_reads_back() {
        let f = FillerParameter {
            r#type: Some("gau\"ss\n".into()),
            std: Some(1e-8),
            min: Some(f32::NEG_INFINITY),
            variance_norm: Some(VarianceNorm::FanOut),
            ..Default::default()
        };
        let text = to_prototxt(&f);
        assert_eq!(
            text,
            "type: \"gau\\\"ss\\n\"\nmin: -inf\nstd: 1e-8\nvariance_norm: FAN_OUT\n"
        );
        let src = SourceFile::new("t", text);
        let back: FillerParameter =
            crate::text::from_message(&src, &crate::text::parse(&src).unwrap()).unwrap();
        assert_eq!(back, f);
        let s = BlobShape { dim: vec![1, 3] };
        assert_eq!(to_prototxt(&s), "dim: 1\ndim: 3\n");
    }
}
