//! JSON text parsed into a [`Value`] tree (for `Value::from_json`, the Segment
//! endpoints and declarative rules), with a nesting limit and field-named errors.
//! Collection does not build trees: see [`super::payload`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::event::{Limits, Map, Value};

/// A string parsed from a request: borrowed from the request bytes when it has
/// no escapes, owned otherwise.
pub(crate) type Text<'a> = Cow<'a, str>;

/// Parses one JSON value with a nesting limit; remembers which top-level field
/// failed so the error can name it. Strings borrow from the input when they can.
struct ValueSeed<'f> {
    level: usize,
    max: usize,
    failed_field: &'f RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value<Text<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value<Text<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Value::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(match i64::try_from(n) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(n),
        })
    }
    fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.level > self.max {
            return Err(de::Error::custom(format_args!(
                "nested deeper than {} levels",
                self.max
            )));
        }
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(ValueSeed {
            level: self.level + 1,
            max: self.max,
            failed_field: self.failed_field,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        if self.level > self.max {
            return Err(de::Error::custom(format_args!(
                "nested deeper than {} levels",
                self.max
            )));
        }
        let top = self.level == 0;
        let mut map = Map::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = access.next_key_seed(KeySeed)? {
            let duplicate = if map.len() < 16 {
                map.contains_key(&key)
            } else {
                if seen.is_empty() {
                    seen.extend(map.keys().map(str::to_owned));
                }
                !seen.insert(key.to_string())
            };
            if duplicate {
                if top {
                    *self.failed_field.borrow_mut() = Some(key.to_string());
                }
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let seed = ValueSeed {
                level: self.level + 1,
                max: self.max,
                failed_field: self.failed_field,
            };
            let value = match access.next_value_seed(seed) {
                Ok(v) => v,
                Err(e) => {
                    if top && self.failed_field.borrow().is_none() {
                        *self.failed_field.borrow_mut() = Some(key.to_string());
                    }
                    return Err(e);
                }
            };
            map.push_unique(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Text<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// Parses a JSON document into a value, nesting at most `max` levels below the top.
fn parse_value(bytes: &[u8], max: usize) -> Result<Value<Text<'_>>> {
    let failed = RefCell::new(None);
    let seed = ValueSeed {
        level: 0,
        max,
        failed_field: &failed,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        let field = match failed.into_inner() {
            Some(key) => field_name(&key),
            None => "json".to_owned(),
        };
        Error::invalid(field, e.to_string())
    })
}

/// A top-level key as a field name for errors (an empty key is shown as `""`).
fn field_name(key: &str) -> String {
    if key.is_empty() {
        "\"\"".to_owned()
    } else {
        key.to_owned()
    }
}

impl Value {
    /// Parses JSON text into a value (nesting at most 100 levels).
    pub fn from_json(text: &str) -> Result<Value> {
        parse_value(text.as_bytes(), Limits::DEPTH_CEILING).map(|v| v.to_owned_value())
    }
}
