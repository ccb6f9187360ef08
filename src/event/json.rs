//! JSON output of values, objects and stored events: natural JSON (integers as
//! integers, floats with a fraction or exponent, keys in order), so that what
//! goes in as JSON comes out the same.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{Map, Value};

/// Serializes a stored value as natural JSON (integers as integers, floats with a
/// fraction or exponent, keys in order).
pub(crate) struct JsonValue<'a, S>(pub &'a Value<S>);
/// Serializes a stored object as natural JSON.
pub(crate) struct JsonMap<'a, S>(pub &'a Map<S>);

impl<S: AsRef<str>> Serialize for JsonValue<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::UInt(n) => s.serialize_u64(*n),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v.as_ref()),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&JsonValue(item))?;
                }
                seq.end()
            }
            Value::Object(map) => JsonMap(map).serialize(s),
        }
    }
}

impl<S: AsRef<str>> Serialize for JsonMap<'_, S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let mut out = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            out.serialize_entry(k, &JsonValue(v))?;
        }
        out.end()
    }
}

impl<S: AsRef<str>> Value<S> {
    /// This value as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&JsonValue(self)).unwrap_or_default()
    }
}

impl<S: AsRef<str>> Map<S> {
    /// This object as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&JsonMap(self)).unwrap_or_default()
    }
}
