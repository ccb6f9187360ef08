//! The Firstparty payload, one event or a batch, parsed with limits into a
//! [`RawEvent`] that borrows from the request, with precise, field-named errors.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::event::{BodyOut, Limits, Map, NewEvent, Value, check_timestamp, validate_body};
use crate::time::parse_rfc3339;

/// The top-level fields of a Firstparty payload.
pub(crate) const PAYLOAD_FIELDS: &[&str] = &[
    "event",
    "write_key",
    "properties",
    "context",
    "profile_id",
    "session_id",
    "timestamp",
    "message_id",
];

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

fn take_string<'a>(map: &mut Map<Text<'a>>, field: &str) -> Result<Option<Text<'a>>> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(Error::invalid(
            field,
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

fn take_object<'a>(map: &mut Map<Text<'a>>, field: &str) -> Result<Map<Text<'a>>> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(other) => Err(Error::invalid(
            field,
            format!("expected an object, found {}", other.type_name()),
        )),
    }
}

/// A Firstparty payload, parsed and validated, its strings borrowed from the
/// request where possible: events without rules are encoded straight from it.
#[derive(Debug)]
pub(crate) struct RawEvent<'a> {
    pub name: Text<'a>,
    pub write_key: Text<'a>,
    pub profile_id: Option<Text<'a>>,
    pub session_id: Option<Text<'a>>,
    pub message_id: Option<Text<'a>>,
    pub timestamp_ms: Option<i64>,
    pub properties: Map<Text<'a>>,
    pub context: Map<Text<'a>>,
}

impl<'a> RawEvent<'a> {
    /// The body to encode, borrowing from the request.
    pub(crate) fn body(&self) -> BodyOut<'_, Text<'a>> {
        BodyOut {
            name: &self.name,
            profile_id: self.profile_id.as_deref(),
            session_id: self.session_id.as_deref(),
            message_id: self.message_id.as_deref(),
            properties: &self.properties,
            context: &self.context,
        }
    }

    /// An owned event (for rules, which edit a draft).
    pub(crate) fn into_new_event(self) -> NewEvent {
        let own = |t: Option<Text<'_>>| t.map(Cow::into_owned);
        NewEvent {
            name: self.name.into_owned(),
            write_key: self.write_key.into_owned(),
            profile_id: own(self.profile_id),
            session_id: own(self.session_id),
            message_id: own(self.message_id),
            timestamp_ms: self.timestamp_ms,
            properties: self.properties.to_owned_map(),
            context: self.context.to_owned_map(),
        }
    }

    fn validate(&self, limits: &Limits) -> Result<()> {
        validate_body(&self.body(), self.timestamp_ms, limits)
    }
}

/// Parses a Firstparty payload (one event). `default_write_key` applies when the
/// payload has none (a batch-level key).
pub(crate) fn parse_event<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    default_write_key: Option<&'a str>,
) -> Result<RawEvent<'a>> {
    if bytes.len() > limits.event_bytes_max {
        return Err(Error::TooLarge {
            what: "event",
            size: bytes.len(),
            limit: limits.event_bytes_max,
        });
    }
    let mut map = match parse_value(bytes, limits.depth_max)? {
        Value::Object(map) => map,
        other => {
            return Err(Error::invalid(
                "json",
                format!("expected an object, found {}", other.type_name()),
            ));
        }
    };
    let name = match take_string(&mut map, "event")? {
        Some(name) => name,
        None => return Err(Error::invalid("event", "missing")),
    };
    let write_key = match (take_string(&mut map, "write_key")?, default_write_key) {
        (Some(key), _) => key,
        (None, Some(key)) => Cow::Borrowed(key),
        (None, None) => return Err(Error::invalid("write_key", "missing")),
    };
    if write_key.is_empty() {
        return Err(Error::invalid("write_key", "missing"));
    }
    let properties = take_object(&mut map, "properties")?;
    let context = take_object(&mut map, "context")?;
    let profile_id = take_string(&mut map, "profile_id")?;
    let session_id = match map.remove("session_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Int(n)) => Some(Cow::Owned(n.to_string())),
        Some(Value::UInt(n)) => Some(Cow::Owned(n.to_string())),
        Some(other) => {
            return Err(Error::invalid(
                "session_id",
                format!(
                    "expected a string or an integer, found {}",
                    other.type_name()
                ),
            ));
        }
    };
    let timestamp_ms = match map.remove("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            parse_rfc3339(&s)
                .map_err(|why| Error::invalid("timestamp", format!("{s:?}: {why}")))?,
        ),
        Some(Value::Int(ms)) => Some(ms),
        Some(other) => {
            return Err(Error::invalid(
                "timestamp",
                format!(
                    "expected an RFC 3339 string or integer epoch milliseconds, found {}",
                    other.type_name()
                ),
            ));
        }
    };
    if let Some(ms) = timestamp_ms {
        check_timestamp(ms)?;
    }
    let message_id = take_string(&mut map, "message_id")?;
    if let Some(unknown) = map.keys().next() {
        return Err(Error::invalid(
            field_name(unknown),
            format!(
                "unknown field; the payload fields are {}; put custom data in properties or context",
                PAYLOAD_FIELDS.join(", ")
            ),
        ));
    }
    let event = RawEvent {
        name,
        write_key,
        profile_id,
        session_id,
        message_id,
        timestamp_ms,
        properties,
        context,
    };
    event.validate(limits)?;
    Ok(event)
}

/// The items of a batch request, still unparsed.
pub(crate) struct BatchItems<'a> {
    pub items: Vec<&'a RawValue>,
    pub write_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchObject<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
    #[serde(default)]
    write_key: Option<String>,
}

/// Splits a batch request (`[...]` or `{"batch": [...], "write_key": "..."}`) into
/// its items without parsing them.
pub(crate) fn split_batch<'a>(bytes: &'a [u8], limits: &Limits) -> Result<BatchItems<'a>> {
    if bytes.len() > limits.batch_bytes_max {
        return Err(Error::TooLarge {
            what: "batch",
            size: bytes.len(),
            limit: limits.batch_bytes_max,
        });
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = match first {
        Some(b'[') => serde_json::from_slice::<Vec<&RawValue>>(bytes).map(|items| BatchItems {
            items,
            write_key: None,
        }),
        Some(b'{') => serde_json::from_slice::<BatchObject<'_>>(bytes).map(|b| BatchItems {
            items: b.batch,
            write_key: b.write_key,
        }),
        _ => {
            return Err(Error::invalid(
                "json",
                "a batch is a JSON array or an object with a \"batch\" array",
            ));
        }
    };
    let items = parsed.map_err(|e| Error::invalid("batch", e.to_string()))?;
    if items.items.len() > limits.batch_events_max {
        return Err(Error::invalid(
            "batch",
            format!(
                "{} events; the limit is {}",
                items.items.len(),
                limits.batch_events_max
            ),
        ));
    }
    Ok(items)
}

impl Value {
    /// Parses JSON text into a value (nesting at most 100 levels).
    pub fn from_json(text: &str) -> Result<Value> {
        parse_value(text.as_bytes(), Limits::DEPTH_CEILING).map(|v| v.to_owned_value())
    }
}
