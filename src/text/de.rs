//! A serde Deserializer over the text tree. Any `Deserialize` type reads from it —
//! the typed Caffe schema in src/proto does — and every error carries the span of
//! the field or value at fault, so it can be reported as file:line:col.
//!
//! Repeated fields: the fields of a message are grouped by name (first occurrence
//! order), so a `Vec` field takes every occurrence (and the items of `[…]` lists),
//! while a scalar field given twice is an error, as in protobuf's text format.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::tree::{Message, Span, Value};
use crate::error::{did_you_mean, shown, shown_bytes, Error, SourceFile};

/// Deserializes a parsed message into `T`, reporting errors against `src`.
pub fn from_message<T: DeserializeOwned>(src: &SourceFile, msg: &Message) -> Result<T, Error> {
    T::deserialize(MessageDeserializer {
        msg,
        type_name: None,
    })
    .map_err(|e| e.into_error(src, msg.span))
}

#[derive(Debug)]
enum Kind {
    UnknownField {
        field: String,
        expected: &'static [&'static str],
        message_type: Option<String>,
    },
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
    },
    Custom(String, Option<String>),
}

/// The error type used during deserialization; becomes [`Error::Source`].
#[derive(Debug)]
pub struct DeError {
    kind: Kind,
    span: Option<Span>,
}

impl DeError {
    fn at(message: impl Into<String>, span: Span) -> Self {
        DeError {
            kind: Kind::Custom(message.into(), None),
            span: Some(span),
        }
    }

    fn with_help(message: impl Into<String>, help: impl Into<String>, span: Span) -> Self {
        DeError {
            kind: Kind::Custom(message.into(), Some(help.into())),
            span: Some(span),
        }
    }

    fn or_span(mut self, span: Span) -> Self {
        self.span.get_or_insert(span);
        self
    }

    fn in_message(mut self, name: Option<&str>) -> Self {
        if let Kind::UnknownField { message_type, .. } = &mut self.kind {
            if message_type.is_none() {
                *message_type = name.map(str::to_string);
            }
        }
        self
    }

    fn into_error(self, src: &SourceFile, fallback: Span) -> Error {
        let span = self.span.unwrap_or(fallback);
        let (message, help) = match self.kind {
            Kind::UnknownField {
                field,
                expected,
                message_type,
            } => {
                let within = message_type.map(|t| format!(" in {t}")).unwrap_or_default();
                let help = did_you_mean(&field, expected.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"));
                (format!("unknown field `{}`{within}", shown(&field)), help)
            }
            Kind::UnknownVariant { variant, expected } => {
                let help = did_you_mean(&variant, expected.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("expected one of {}", quoted_list(expected))));
                (format!("unknown value `{}`", shown(&variant)), help)
            }
            Kind::Custom(m, h) => (m, h),
        };
        src.error_with_help(span, message, help)
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::UnknownField { field, .. } => write!(f, "unknown field `{}`", shown(field)),
            Kind::UnknownVariant { variant, .. } => write!(f, "unknown value `{}`", shown(variant)),
            Kind::Custom(m, _) => f.write_str(m),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            kind: Kind::Custom(msg.to_string(), None),
            span: None,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            kind: Kind::UnknownField {
                field: field.to_string(),
                expected,
                message_type: None,
            },
            span: None,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            kind: Kind::UnknownVariant {
                variant: variant.to_string(),
                expected,
            },
            span: None,
        }
    }
}

type R<T> = Result<T, DeError>;

/// A whole message (the file's top level, or a `{ … }` value).
struct MessageDeserializer<'a> {
    msg: &'a Message,
    type_name: Option<&'static str>,
}

impl<'de, 'a> de::Deserializer<'de> for MessageDeserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_map(MessageAccess::new(self.msg, self.type_name))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_map(MessageAccess::new(self.msg, Some(name)))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map enum identifier
    }
}

struct Group<'a> {
    name: &'a str,
    name_span: Span,
    /// Where each occurrence's name is, for "given twice" errors.
    occurrences: Vec<Span>,
    values: Vec<&'a Value>,
}

struct MessageAccess<'a> {
    groups: std::vec::IntoIter<Group<'a>>,
    current: Option<Group<'a>>,
    type_name: Option<&'static str>,
}

impl<'a> MessageAccess<'a> {
    fn new(msg: &'a Message, type_name: Option<&'static str>) -> Self {
        let mut groups: Vec<Group<'a>> = Vec::new();
        for f in &msg.fields {
            match groups.iter_mut().find(|g| g.name == f.name) {
                Some(g) => {
                    g.values.push(&f.value);
                    g.occurrences.push(f.name_span);
                }
                None => groups.push(Group {
                    name: &f.name,
                    name_span: f.name_span,
                    occurrences: vec![f.name_span],
                    values: vec![&f.value],
                }),
            }
        }
        MessageAccess {
            groups: groups.into_iter(),
            current: None,
            type_name,
        }
    }
}

impl<'de, 'a> de::MapAccess<'de> for MessageAccess<'a> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let Some(group) = self.groups.next() else {
            return Ok(None);
        };
        let key = seed
            .deserialize(group.name.into_deserializer())
            .map_err(|e: DeError| e.in_message(self.type_name).or_span(group.name_span))?;
        self.current = Some(group);
        Ok(Some(key))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> R<V::Value> {
        let group = self
            .current
            .take()
            .expect("serde asks for a value after its key");
        let first = group.values[0].span();
        seed.deserialize(FieldDeserializer { group: &group })
            .map_err(|e| e.or_span(first))
    }
}

/// Every value given for one field name.
struct FieldDeserializer<'g, 'a> {
    group: &'g Group<'a>,
}

impl<'g, 'a> FieldDeserializer<'g, 'a> {
    fn single(&self) -> R<ValueDeserializer<'a>> {
        let values = &self.group.values;
        if values.len() > 1 {
            return Err(DeError::with_help(
                format!(
                    "field `{}` is given {} times but is not repeated",
                    shown(self.group.name),
                    values.len()
                ),
                "remove the extra occurrences",
                self.group.occurrences[1],
            ));
        }
        if let Value::List(_, span) = values[0] {
            return Err(DeError::at(
                format!(
                    "field `{}` is not repeated, so it cannot take a list",
                    shown(self.group.name)
                ),
                *span,
            ));
        }
        Ok(ValueDeserializer { value: values[0] })
    }
}

macro_rules! forward_to_single {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
            self.single()?.$method(visitor)
        })*
    };
}

impl<'de, 'g, 'a> de::Deserializer<'de> for FieldDeserializer<'g, 'a> {
    type Error = DeError;

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        let mut flat = Vec::new();
        for v in &self.group.values {
            match v {
                Value::List(items, _) => flat.extend(items.iter()),
                other => flat.push(*other),
            }
        }
        visitor.visit_seq(ValuesSeq {
            values: flat.into_iter(),
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        self.single()?.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        self.single()?.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _len: usize,
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }

    forward_to_single! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_map deserialize_identifier
    }
}

struct ValuesSeq<'a> {
    values: std::vec::IntoIter<&'a Value>,
}

impl<'de, 'a> de::SeqAccess<'de> for ValuesSeq<'a> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> R<Option<T::Value>> {
        match self.values.next() {
            None => Ok(None),
            Some(value) => seed
                .deserialize(ValueDeserializer { value })
                .map(Some)
                .map_err(|e| e.or_span(value.span())),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

/// One value.
struct ValueDeserializer<'a> {
    value: &'a Value,
}

impl<'a> ValueDeserializer<'a> {
    fn wrong(&self, expected: &str) -> DeError {
        let found = self.value.kind();
        let mut e = DeError::at(
            format!("expected {expected}, found {found}"),
            self.value.span(),
        );
        if let (Value::Ident(name, _), true) = (self.value, expected.contains("string")) {
            e = DeError::with_help(
                format!("expected {expected}, found {found}"),
                format!("strings are written in quotes: \"{}\"", shown(name)),
                self.value.span(),
            );
        }
        if let (Value::Str(s, _), true) = (self.value, expected.contains("enum")) {
            e = DeError::with_help(
                format!("expected {expected}, found {found}"),
                format!("enum values are written without quotes: {}", shown_bytes(s)),
                self.value.span(),
            );
        }
        e
    }

    fn int(&self, type_name: &str, min: i128, max: i128) -> R<i128> {
        match self.value {
            Value::Int(v, span) => {
                if *v < min || *v > max {
                    Err(DeError::at(
                        format!("value {v} is out of range for {type_name} ({min}..={max})"),
                        *span,
                    ))
                } else {
                    Ok(*v)
                }
            }
            _ => Err(self.wrong(&format!("an integer ({type_name})"))),
        }
    }

    fn float(&self) -> R<f64> {
        match self.value {
            Value::Int(v, _) => Ok(*v as f64),
            Value::Float(v, _) => Ok(*v),
            Value::Ident(s, _) => match s.to_ascii_lowercase().as_str() {
                "inf" | "infinity" => Ok(f64::INFINITY),
                "nan" => Ok(f64::NAN),
                _ => Err(self.wrong("a number")),
            },
            _ => Err(self.wrong("a number")),
        }
    }

    fn string(&self) -> R<String> {
        match self.value {
            Value::Str(bytes, span) => String::from_utf8(bytes.clone())
                .map_err(|_| DeError::at("this string is not valid UTF-8", *span)),
            _ => Err(self.wrong("a string")),
        }
    }
}

macro_rules! int_methods {
    ($($method:ident $visit:ident $t:ty => $name:literal;)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
            let v = self.int($name, <$t>::MIN as i128, <$t>::MAX as i128)?;
            visitor.$visit(v as $t)
        })*
    };
}

impl<'de, 'a> de::Deserializer<'de> for ValueDeserializer<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Int(v, span) => match i64::try_from(*v) {
                Ok(v) => visitor.visit_i64(v),
                Err(_) => match u64::try_from(*v) {
                    Ok(v) => visitor.visit_u64(v),
                    Err(_) => Err(DeError::at("integer out of range", *span)),
                },
            },
            Value::Float(v, _) => visitor.visit_f64(*v),
            Value::Ident(s, _) => visitor.visit_str(s),
            Value::Str(..) => visitor.visit_string(self.string()?),
            Value::Message(m) => visitor.visit_map(MessageAccess::new(m, None)),
            Value::List(items, _) => visitor.visit_seq(ValuesSeq {
                values: items.iter().collect::<Vec<_>>().into_iter(),
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Ident(s, _) if matches!(s.as_str(), "true" | "True" | "t") => {
                visitor.visit_bool(true)
            }
            Value::Ident(s, _) if matches!(s.as_str(), "false" | "False" | "f") => {
                visitor.visit_bool(false)
            }
            Value::Int(1, _) => visitor.visit_bool(true),
            Value::Int(0, _) => visitor.visit_bool(false),
            _ => Err(self.wrong("a boolean (true or false)")),
        }
    }

    int_methods! {
        deserialize_i8 visit_i8 i8 => "int8";
        deserialize_i16 visit_i16 i16 => "int16";
        deserialize_i32 visit_i32 i32 => "int32";
        deserialize_i64 visit_i64 i64 => "int64";
        deserialize_u8 visit_u8 u8 => "uint8";
        deserialize_u16 visit_u16 u16 => "uint16";
        deserialize_u32 visit_u32 u32 => "uint32";
        deserialize_u64 visit_u64 u64 => "uint64";
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_f32(self.float()? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_f64(self.float()?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_string(self.string()?)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Str(b, _) => visitor.visit_byte_buf(b.clone()),
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::List(items, _) => visitor.visit_seq(ValuesSeq {
                values: items.iter().collect::<Vec<_>>().into_iter(),
            }),
            _ => Err(self.wrong("a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _len: usize,
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Message(m) => visitor.visit_map(MessageAccess::new(m, None)),
            _ => Err(self.wrong("a message `{ … }`")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        match self.value {
            Value::Message(m) => visitor.visit_map(MessageAccess::new(m, Some(name))),
            _ => Err(self.wrong(&format!("a message `{{ … }}` ({name})"))),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        match self.value {
            Value::Ident(s, _) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Int(v, span) => {
                let v = i64::try_from(*v)
                    .map_err(|_| DeError::at("enum number out of range", *span))?;
                visitor.visit_i64(v)
            }
            _ => Err(self.wrong("an enum value")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        match self.value {
            Value::Ident(s, _) => visitor.visit_str(s),
            _ => Err(self.wrong("an identifier")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { i128 u128 }
}
