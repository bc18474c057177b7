//! The span-carrying tree that the text parser builds: fields and values exactly as
//! written, before any schema gives them meaning.

pub use crate::error::Span;

/// One `name: value` or `name { … }` entry of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub name_span: Span,
    pub value: Value,
}

/// A value as written. Numbers keep enough of their spelling for the schema to
/// convert them to the field's type (and to report range errors).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer literal (decimal, hex or octal), sign applied.
    Int(i128, Span),
    /// A literal with a dot, an exponent, an `f` suffix, or `inf`/`nan`.
    Float(f64, Span),
    /// A bare identifier: an enum value or a boolean.
    Ident(String, Span),
    /// One or more adjacent quoted strings, escapes resolved, concatenated.
    Str(Vec<u8>, Span),
    Message(Message),
    /// The `[a, b, c]` form of a repeated field.
    List(Vec<Value>, Span),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Int(_, s)
            | Value::Float(_, s)
            | Value::Ident(_, s)
            | Value::Str(_, s)
            | Value::List(_, s) => *s,
            Value::Message(m) => m.span,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(..) => "an integer",
            Value::Float(..) => "a floating-point number",
            Value::Ident(..) => "an identifier",
            Value::Str(..) => "a string",
            Value::Message(..) => "a message `{ … }`",
            Value::List(..) => "a list `[ … ]`",
        }
    }
}

/// A message: its fields in source order (repeated fields appear once per value).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    pub fields: Vec<Field>,
    pub span: Span,
}

impl Message {
    /// The values of every occurrence of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name == name)
            .map(|f| &f.value)
    }
}
