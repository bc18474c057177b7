//! The two macros every schema message is declared with. A message is declared once,
//! with Caffe's field names and defaults; the macro derives serde (so prototxt and
//! TOML read through the same code), a printer-friendly Serialize that skips unset
//! fields, and one getter per optional field that returns Caffe's default when unset.
//!
//! Field kinds:
//! - `opt name: T = default;` — optional scalar or enum, stored as `Option<T>`; the
//!   getter `name()` returns the default when unset (Caffe's `has_name()` is
//!   `self.name.is_some()`).
//! - `string name = "default";` — optional string; the getter returns `&str`.
//! - `msg name: T;` — optional sub-message, stored as `Option<T>`; the getter
//!   returns the message or its default.
//! - `rep name: T;` — repeated field, stored as `Vec<T>` (no getter).
//! - `bytes name;` — optional `bytes` field, stored as `Option<Bytes>`; the getter
//!   returns `&[u8]` (empty when unset).

/// Declares a Caffe message. See the module docs for the field kinds.
#[macro_export]
macro_rules! caffe_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $kind:ident $field:ident $(: $ty:ty)? $(= $default:expr)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "crate::proto::Unset::is_unset")]
                pub $field: $crate::caffe_field_type!($kind $($ty)?),
            )*
        }

        impl $name {
            $( $crate::caffe_getter!($kind $field $(: $ty)? $(= $default)?); )*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! caffe_field_type {
    (opt $ty:ty) => { Option<$ty> };
    (msg $ty:ty) => { Option<$ty> };
    (rep $ty:ty) => { Vec<$ty> };
    (string) => { Option<String> };
    (bytes) => { Option<$crate::proto::Bytes> };
}

#[doc(hidden)]
#[macro_export]
macro_rules! caffe_getter {
    (opt $field:ident : $ty:ty = $default:expr) => {
        #[allow(clippy::redundant_closure_call)]
        pub fn $field(&self) -> $ty {
            self.$field.unwrap_or($default)
        }
    };
    (string $field:ident = $default:expr) => {
        pub fn $field(&self) -> &str {
            self.$field.as_deref().unwrap_or($default)
        }
    };
    (msg $field:ident : $ty:ty) => {
        pub fn $field(&self) -> $ty {
            self.$field.clone().unwrap_or_default()
        }
    };
    (bytes $field:ident) => {
        pub fn $field(&self) -> &[u8] {
            self.$field.as_ref().map_or(&[], |b| b.0.as_slice())
        }
    };
    (rep $field:ident : $ty:ty) => {};
}

/// Declares a Caffe enum: Rust variant names, Caffe's numbers and Caffe's names.
/// Text and TOML accept the name (or, as protobuf does, the number); printing writes
/// the name.
#[macro_export]
macro_rules! caffe_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $num:literal => $text:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant ),* }

        impl $name {
            /// Caffe's names of the values, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),*];

            pub fn name(self) -> &'static str {
                match self { $( $name::$variant => $text ),* }
            }

            pub fn number(self) -> i32 {
                match self { $( $name::$variant => $num ),* }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name { $( $text => Some($name::$variant), )* _ => None }
            }

            pub fn from_number(n: i64) -> Option<Self> {
                match n { $( $num => Some($name::$variant), )* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_unit_variant(stringify!($name), self.number() as u32, self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join(", "))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v).ok_or_else(|| E::unknown_variant(v, $name::NAMES))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        $name::from_number(v).ok_or_else(|| {
                            E::custom(format!("{} has no value numbered {v} (values: {})", stringify!($name), $name::NAMES.join(", ")))
                        })
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
                    }
                    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<$name, A::Error> {
                        use serde::de::VariantAccess;
                        let (name, variant): (String, _) = data.variant()?;
                        variant.unit_variant()?;
                        self.visit_str(&name)
                    }
                }
                d.deserialize_enum(stringify!($name), $name::NAMES, V)
            }
        }
    };
}
