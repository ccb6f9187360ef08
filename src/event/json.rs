//! JSON output of values, objects and stored events: natural JSON (integers as
//! integers, floats with a fraction or exponent, keys in order), byte for byte
//! what `serde_json` writes, so that what goes in as JSON comes out the same. The
//! codec writes JSON straight from stored bytes with the same primitives.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{Map, Value};

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters
/// escaped as `serde_json` does.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0C => b"\\f",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xF)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends an integer.
pub(crate) fn write_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends an unsigned integer.
pub(crate) fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a float exactly as `serde_json` writes it (shortest round-trip form);
/// a non-finite one, which no stored event holds, as `null`.
pub(crate) fn write_f64(out: &mut Vec<u8>, f: f64) {
    // Writing a float into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &f);
}

/// Appends `value` as JSON.
pub(crate) fn write_value<S: AsRef<str>>(out: &mut Vec<u8>, value: &Value<S>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(n) => write_i64(out, *n),
        Value::UInt(n) => write_u64(out, *n),
        Value::Float(f) => write_f64(out, *f),
        Value::String(s) => write_str(out, s.as_ref()),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => write_map(out, map),
    }
}

/// Appends `map` as a JSON object.
pub(crate) fn write_map<S: AsRef<str>>(out: &mut Vec<u8>, map: &Map<S>) {
    out.push(b'{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_value(out, v);
    }
    out.push(b'}');
}

impl<S: AsRef<str>> Value<S> {
    /// This value as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        write_value(&mut out, self);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl<S: AsRef<str>> Map<S> {
    /// This object as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        write_map(&mut out, self);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Values serialize as the JSON they stand for (`Value::Int(3)` as `3`), in any
/// serde format.
impl<S: AsRef<str>> Serialize for Value<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_i64(*n),
            Value::UInt(n) => s.serialize_u64(*n),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v.as_ref()),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => map.serialize(s),
        }
    }
}

/// Objects serialize as maps, keys in order.
impl<S: AsRef<str>> Serialize for Map<S> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let mut out = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            out.serialize_entry(k, v)?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_serde_json_writes() {
        let samples = [
            "plain",
            "quote \" backslash \\ slash /",
            "control \u{0} \u{1f} \u{7f} \n\r\t\u{8}\u{c}",
            "unicode é 😀 \u{2028}",
        ];
        for s in samples {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
        for f in [
            0.0,
            -0.0,
            1.5,
            1e21,
            1e-7,
            f64::MAX,
            f64::MIN_POSITIVE,
            0.1 + 0.2,
        ] {
            let mut out = Vec::new();
            write_f64(&mut out, f);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&f).unwrap()
            );
        }
    }
}
