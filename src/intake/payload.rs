//! The Firstparty payload parsed in one pass: scalar fields borrowed from the
//! request, `properties` and `context` transcoded from JSON straight into the
//! record body's value encoding (no `Value` tree), with limits and precise,
//! field-named errors.
//!
//! The payload's fields come in any order, while a body starts with the name and
//! ids: the two objects are encoded into the call's scratch buffer as they are
//! met, and the body is assembled from the head and those bytes when the event
//! is framed (a copy of a few hundred bytes).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::value::Text;
use crate::codec::value::{self as enc, EncodeError};
use crate::codec::varint;
use crate::error::{Error, Result};
use crate::event::{Limits, check_timestamp, validate_head};
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

/// An empty object in the body encoding.
const EMPTY_OBJECT: [u8; 5] = [enc::OBJECT, 0, 0, 0, 0];

/// A Firstparty payload, parsed and checked: scalars borrowed from the request
/// where possible, the two objects already encoded in the caller's scratch.
#[derive(Debug)]
pub(crate) struct RawEvent<'a> {
    pub(crate) name: Text<'a>,
    pub(crate) write_key: Text<'a>,
    pub(crate) profile_id: Option<Text<'a>>,
    pub(crate) session_id: Option<Text<'a>>,
    pub(crate) message_id: Option<Text<'a>>,
    pub(crate) timestamp_ms: Option<i64>,
    /// `context.anonymous_id` when it is a string.
    pub(crate) anonymous_id: Option<Text<'a>>,
    /// The encoded `properties` object in the scratch buffer.
    pub(crate) properties: Range<usize>,
    /// The encoded `context` object in the scratch buffer.
    pub(crate) context: Range<usize>,
}

impl RawEvent<'_> {
    /// The encoded properties and context (in the scratch the event was parsed
    /// with).
    pub(crate) fn objects<'s>(&self, scratch: &'s [u8]) -> (&'s [u8], &'s [u8]) {
        (
            &scratch[self.properties.clone()],
            &scratch[self.context.clone()],
        )
    }

    /// The ids, in body order.
    pub(crate) fn ids(&self) -> [Option<&str>; 3] {
        [
            self.profile_id.as_deref(),
            self.session_id.as_deref(),
            self.message_id.as_deref(),
        ]
    }
}

/// Parses a Firstparty payload (one event), encoding its objects at the end of
/// `scratch`. `default_write_key` applies when the payload has none (a
/// batch-level key). On error, `scratch` is left as it was.
pub(crate) fn parse_event<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    default_write_key: Option<&'a str>,
    scratch: &mut Vec<u8>,
) -> Result<RawEvent<'a>> {
    if bytes.len() > limits.event_bytes_max {
        return Err(Error::TooLarge {
            what: "event",
            size: bytes.len(),
            limit: limits.event_bytes_max,
        });
    }
    let mark = scratch.len();
    let parsed = parse_fields(bytes, limits, scratch)
        .and_then(|f| f.finish(default_write_key, limits, scratch));
    if parsed.is_err() {
        scratch.truncate(mark);
    }
    parsed
}

/// The fields read so far.
#[derive(Default)]
struct Fields<'a> {
    name: Option<Text<'a>>,
    write_key: Option<Text<'a>>,
    profile_id: Option<Text<'a>>,
    session_id: Option<Text<'a>>,
    message_id: Option<Text<'a>>,
    timestamp_ms: Option<i64>,
    anonymous_id: Option<Text<'a>>,
    properties: Option<Range<usize>>,
    context: Option<Range<usize>>,
}

fn parse_fields<'a>(bytes: &'a [u8], limits: &Limits, scratch: &mut Vec<u8>) -> Result<Fields<'a>> {
    let mut failed = None;
    let seed = PayloadSeed {
        scratch,
        levels: limits.depth_max,
        failed: &mut failed,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = seed.deserialize(&mut de).and_then(|f| de.end().map(|()| f));
    parsed.map_err(|e| {
        let (field, reason) = match failed {
            Some(f) => f,
            None => ("json".to_owned(), e.to_string()),
        };
        Error::invalid(field, reason)
    })
}

impl<'a> Fields<'a> {
    /// Fills in what the payload left out and checks the event as a whole.
    fn finish(
        self,
        default_write_key: Option<&'a str>,
        limits: &Limits,
        scratch: &mut Vec<u8>,
    ) -> Result<RawEvent<'a>> {
        let name = self
            .name
            .ok_or_else(|| Error::invalid("event", "missing"))?;
        let write_key = match (self.write_key, default_write_key) {
            (Some(key), _) => key,
            (None, Some(key)) => Cow::Borrowed(key),
            (None, None) => return Err(Error::invalid("write_key", "missing")),
        };
        if write_key.is_empty() {
            return Err(Error::invalid("write_key", "missing"));
        }
        let mut empty = || {
            let at = scratch.len();
            scratch.extend_from_slice(&EMPTY_OBJECT);
            at..scratch.len()
        };
        let properties = self.properties.unwrap_or_else(&mut empty);
        let context = self.context.unwrap_or_else(&mut empty);
        let event = RawEvent {
            name,
            write_key,
            profile_id: self.profile_id,
            session_id: self.session_id,
            message_id: self.message_id,
            timestamp_ms: self.timestamp_ms,
            anonymous_id: self.anonymous_id,
            properties,
            context,
        };
        validate_head(&event.name, event.ids(), event.timestamp_ms, limits)?;
        Ok(event)
    }
}

/// The payload object. On a field's error it names the field in `failed`.
struct PayloadSeed<'s, 'f> {
    scratch: &'s mut Vec<u8>,
    levels: usize,
    failed: &'f mut Option<(String, String)>,
}

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_, '_> {
    type Value = Fields<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn not_a_payload<'de, E: de::Error>(found: &str) -> Result<Fields<'de>, E> {
    Err(E::custom(format_args!("expected an object, found {found}")))
}

impl<'de> Visitor<'de> for PayloadSeed<'_, '_> {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Fields<'de>, E> {
        not_a_payload("null")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Fields<'de>, E> {
        not_a_payload("boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Fields<'de>, E> {
        not_a_payload("number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Fields<'de>, E> {
        not_a_payload("number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Fields<'de>, E> {
        not_a_payload("number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields<'de>, E> {
        not_a_payload("string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Fields<'de>, A::Error> {
        not_a_payload("array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Fields::default();
        let mut seen: Vec<Text<'de>> = Vec::with_capacity(8);
        while let Some(key) = access.next_key_seed(TextSeed)? {
            if seen.contains(&key) {
                *self.failed = Some((field_name(&key), format!("duplicate key {key:?}")));
                return Err(de::Error::custom("duplicate key"));
            }
            let outcome = read_field(&key, &mut access, &mut fields, self.scratch, self.levels);
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    *self.failed = Some((field_name(&key), reason));
                    return Err(de::Error::custom("invalid field"));
                }
                Err(e) => {
                    *self.failed = Some((field_name(&key), e.to_string()));
                    return Err(e);
                }
            }
            seen.push(key);
        }
        Ok(fields)
    }
}

/// A top-level key as a field name for errors (an empty key is shown as `""`).
fn field_name(key: &str) -> String {
    if key.is_empty() {
        "\"\"".to_owned()
    } else {
        key.to_owned()
    }
}

/// Reads the value of top-level field `key`. The outer error is the JSON
/// parser's; the inner one a field that parsed but is not acceptable.
fn read_field<'de, A: MapAccess<'de>>(
    key: &str,
    access: &mut A,
    fields: &mut Fields<'de>,
    scratch: &mut Vec<u8>,
    levels: usize,
) -> Result<Result<(), String>, A::Error> {
    let scalar = |access: &mut A| access.next_value_seed(ScalarSeed);
    Ok(match key {
        "event" => string(scalar(access)?).map(|s| fields.name = s),
        "write_key" => string(scalar(access)?).map(|s| fields.write_key = s),
        "profile_id" => string(scalar(access)?).map(|s| fields.profile_id = s),
        "message_id" => string(scalar(access)?).map(|s| fields.message_id = s),
        "session_id" => session(scalar(access)?).map(|s| fields.session_id = s),
        "timestamp" => timestamp(scalar(access)?).map(|t| fields.timestamp_ms = t),
        "properties" | "context" => {
            let start = scratch.len();
            let seed = ObjectSeed {
                out: scratch,
                depth: Depth {
                    left: levels,
                    max: levels,
                },
                capture: (key == "context").then_some("anonymous_id"),
            };
            let captured = access.next_value_seed(seed)?;
            let range = start..scratch.len();
            if key == "context" {
                fields.context = Some(range);
                fields.anonymous_id = captured;
            } else {
                fields.properties = Some(range);
            }
            Ok(())
        }
        unknown => {
            let _ = unknown;
            Err(format!(
                "unknown field; the payload fields are {}; put custom data in properties or context",
                PAYLOAD_FIELDS.join(", ")
            ))
        }
    })
}

/// A top-level scalar field's value.
enum Scalar<'a> {
    Null,
    Str(Text<'a>),
    Int(i64),
    UInt(u64),
    Other(&'static str),
}

fn string(v: Scalar<'_>) -> Result<Option<Text<'_>>, String> {
    match v {
        Scalar::Null => Ok(None),
        Scalar::Str(s) => Ok(Some(s)),
        other => Err(format!("expected a string, found {}", type_of(&other))),
    }
}

fn session(v: Scalar<'_>) -> Result<Option<Text<'_>>, String> {
    match v {
        Scalar::Int(n) => Ok(Some(Cow::Owned(n.to_string()))),
        Scalar::UInt(n) => Ok(Some(Cow::Owned(n.to_string()))),
        Scalar::Null | Scalar::Str(_) => string(v),
        other => Err(format!(
            "expected a string or an integer, found {}",
            type_of(&other)
        )),
    }
}

fn timestamp(v: Scalar<'_>) -> Result<Option<i64>, String> {
    let ms = match v {
        Scalar::Null => return Ok(None),
        Scalar::Str(s) => parse_rfc3339(&s).map_err(|why| format!("{s:?}: {why}"))?,
        Scalar::Int(ms) => ms,
        other => {
            return Err(format!(
                "expected an RFC 3339 string or integer epoch milliseconds, found {}",
                type_of(&other)
            ));
        }
    };
    check_timestamp(ms).map_err(|e| e.to_string())?;
    Ok(Some(ms))
}

fn type_of(v: &Scalar<'_>) -> &'static str {
    match v {
        Scalar::Null => "null",
        Scalar::Str(_) => "string",
        Scalar::Int(_) | Scalar::UInt(_) => "number",
        Scalar::Other(what) => what,
    }
}

/// Reads a top-level scalar (containers are reported by type, skipped).
struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other("boolean"))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Scalar<'de>, E> {
        Ok(match i64::try_from(n) {
            Ok(n) => Scalar::Int(n),
            Err(_) => Scalar::UInt(n),
        })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Other("number"))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Scalar::Other("object"))
    }
}

/// A string key or value, borrowed from the input when it has no escapes.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Text<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Text<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
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

/// `properties` or `context`: an object (or null, for an empty one) transcoded
/// into `out`. A value the parser accepts but the store refuses (too deep, a
/// repeated key) is a parse error whose message says why. With `capture`, the
/// string value of that top-level key is returned.
struct ObjectSeed<'o> {
    out: &'o mut Vec<u8>,
    depth: Depth,
    capture: Option<&'static str>,
}

/// Nesting: how many container levels may still be entered, and the configured
/// maximum (for the error message).
#[derive(Clone, Copy)]
struct Depth {
    left: usize,
    max: usize,
}

impl Depth {
    /// One level deeper, or the refusal.
    fn enter<E: de::Error>(self) -> Result<Depth, E> {
        if self.left == 0 {
            return Err(refused(EncodeError::TooDeep, self.max));
        }
        Ok(Depth {
            left: self.left - 1,
            max: self.max,
        })
    }
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Option<Text<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn not_an_object<'de, E: de::Error>(found: &str) -> Result<Option<Text<'de>>, E> {
    Err(E::custom(format_args!("expected an object, found {found}")))
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Option<Text<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.out.extend_from_slice(&EMPTY_OBJECT);
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        transcode_map(self.out, access, self.depth, self.capture)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        not_an_object("boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        not_an_object("number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        not_an_object("number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        not_an_object("number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        not_an_object("string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        not_an_object("array")
    }
}

/// The parse error of a value the store refuses.
fn refused<E: de::Error>(e: EncodeError, levels_max: usize) -> E {
    match e {
        EncodeError::NotFinite => E::custom("numbers must be finite"),
        EncodeError::DuplicateKey => E::custom("duplicate key"),
        EncodeError::TooDeep => E::custom(format_args!("nested deeper than {levels_max} levels")),
    }
}

/// Transcodes an object's entries into `out` (tag, length, entries), refusing a
/// repeated key. `depth` is before entering this object. With `capture`, returns
/// the string value of that key (at this level).
fn transcode_map<'de, A: MapAccess<'de>>(
    out: &mut Vec<u8>,
    mut access: A,
    depth: Depth,
    capture: Option<&'static str>,
) -> Result<Option<Text<'de>>, A::Error> {
    let inner = depth.enter()?;
    let at = enc::begin(out, enc::OBJECT);
    let mut keys = KeyRanges::default();
    let mut captured = None;
    while let Some(key) = access.next_key_seed(TextSeed)? {
        if !keys.insert(out, &key) {
            return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
        }
        enc::put_str(out, &key);
        let value = access.next_value_seed(ValueSeed {
            out: &mut *out,
            depth: inner,
            keep_string: capture == Some(key.as_ref()),
        })?;
        if value.is_some() {
            captured = value;
        }
    }
    enc::end(out, at);
    Ok(captured)
}

/// The keys of one object being transcoded, as byte ranges of `out`.
#[derive(Default)]
struct KeyRanges {
    ranges: Vec<Range<usize>>,
}

impl KeyRanges {
    /// False when `key` is already among them; else remembers where it is about
    /// to be written (after its length).
    fn insert(&mut self, out: &[u8], key: &str) -> bool {
        let bytes = key.as_bytes();
        if self.ranges.iter().any(|r| &out[r.clone()] == bytes) {
            return false;
        }
        let start = out.len() + varint::len_u64(bytes.len() as u64);
        self.ranges.push(start..start + bytes.len());
        true
    }
}

/// One value transcoded into `out`; with `keep_string`, a string value is also
/// returned.
struct ValueSeed<'o> {
    out: &'o mut Vec<u8>,
    depth: Depth,
    keep_string: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Option<Text<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Option<Text<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.out.push(enc::NULL);
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        self.out.push(if b { enc::TRUE } else { enc::FALSE });
        Ok(None)
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        enc::put_int(self.out, n);
        Ok(None)
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        enc::put_uint(self.out, n);
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        enc::put_float(self.out, f).map_err(|e| refused(e, self.depth.max))?;
        Ok(None)
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        enc::put_string(self.out, s);
        Ok(self.keep_string.then_some(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        enc::put_string(self.out, s);
        Ok(self.keep_string.then(|| Cow::Owned(s.to_owned())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let inner = self.depth.enter()?;
        let at = enc::begin(self.out, enc::ARRAY);
        while seq
            .next_element_seed(ValueSeed {
                out: &mut *self.out,
                depth: inner,
                keep_string: false,
            })?
            .is_some()
        {}
        enc::end(self.out, at);
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        transcode_map(self.out, access, self.depth, None).map(|_| None)
    }
}
