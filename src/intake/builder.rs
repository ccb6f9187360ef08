//! Events described field by field and encoded as they are given ([`EventBatch`]):
//! the application's strings are borrowed, properties and context go straight
//! into the record body encoding, and the batch's buffers are reused from one
//! batch to the next. No `NewEvent`, no `String` or `Map` per event.
//!
//! The events come out as the JSON intake's do ([`RawEvent`]: borrowed head,
//! encoded objects in a scratch buffer), so collection, rules and framing are
//! shared with it.

#![allow(
    private_interfaces,
    reason = "PropertyValue is sealed: its supertrait (with the crate's encoding error in \
              its signature) can be named outside the crate, never implemented or called"
)]

use std::borrow::Cow;

use super::payload::RawEvent;
use crate::codec::value::{self as enc, EncodeError};
use crate::error::{Error, Result};
use crate::event::{Limits, Map, Value, validate_head};

/// A batch of events built in place, for
/// [`Store::collect_event_batch`](crate::Store::collect_event_batch): the
/// fastest way to collect from an application's own data.
///
/// Names, write keys and ids are borrowed (`'a`); properties and context are
/// encoded when they are added. An event whose fields break a limit is not
/// refused here: its outcome in the collect call is the error, as for a JSON
/// batch. Reuse one batch (collecting empties it) so its buffers are allocated
/// once.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use firstlog::{EventBatch, Store};
/// let store = Store::open(dir.path())?;
/// let web = store.create_source("Web")?;
/// let key = web.write_key().to_owned();
/// let mut batch = EventBatch::new();
/// for i in 0..3 {
///     batch
///         .event("Page Viewed", &key)
///         .profile("user-7")
///         .timestamp_ms(1_700_000_000_000 + i)
///         .property("path", "/pricing")
///         .property("scroll", 0.75)
///         .context("locale", "en-US");
/// }
/// let outcomes = store.collect_event_batch(&mut batch)?;
/// assert_eq!(outcomes.len(), 3);
/// assert!(batch.is_empty());
/// # Ok::<(), firstlog::Error>(())
/// ```
#[derive(Default)]
pub struct EventBatch<'a> {
    /// The encoded objects of every event.
    pub(crate) scratch: Vec<u8>,
    pub(crate) events: Vec<Result<RawEvent<'a>>>,
    /// How deeply each event's properties and context nest (an object of
    /// scalars: 1), checked against the store's limit when collected.
    pub(crate) depths: Vec<usize>,
    /// The contents of the event being written: its properties, its context.
    properties: ObjectBuf,
    context: ObjectBuf,
}

/// The contents of an object being built, with its keys' positions (a key may
/// appear once).
#[derive(Default)]
struct ObjectBuf {
    bytes: Vec<u8>,
    keys: Vec<(usize, usize)>,
    /// The deepest value added (a scalar: 0).
    depth: usize,
}

impl ObjectBuf {
    fn clear(&mut self) {
        self.bytes.clear();
        self.keys.clear();
        self.depth = 0;
    }

    /// Appends `key: value`; refuses a key already present.
    fn put(&mut self, key: &str, value: &dyn Encode) -> Result<(), &'static str> {
        let taken = self
            .keys
            .iter()
            .any(|&(at, len)| &self.bytes[at..at + len] == key.as_bytes());
        if taken {
            return Err("given twice");
        }
        let mark = self.bytes.len();
        enc::put_str(&mut self.bytes, key);
        let key_at = self.bytes.len() - key.len();
        // The object itself is the first level.
        match value.encode(&mut self.bytes, Limits::DEPTH_CEILING - 1) {
            Ok(()) => {
                self.keys.push((key_at, key.len()));
                self.depth = self.depth.max(value.depth());
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(mark);
                Err(match e {
                    EncodeError::NotFinite => "numbers must be finite",
                    EncodeError::TooDeep => "nested too deep",
                    EncodeError::DuplicateKey => "an object has a key twice",
                })
            }
        }
    }

    /// Appends the object (tag, length, contents) to `out`.
    fn write_to(&self, out: &mut Vec<u8>) -> std::ops::Range<usize> {
        let start = out.len();
        let at = enc::begin(out, enc::OBJECT);
        out.extend_from_slice(&self.bytes);
        enc::end(out, at);
        start..out.len()
    }
}

impl<'a> EventBatch<'a> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts an event; it joins the batch when the returned writer is dropped
    /// (at the end of the statement).
    pub fn event(&mut self, name: &'a str, write_key: &'a str) -> EventWriter<'_, 'a> {
        self.properties.clear();
        self.context.clear();
        EventWriter {
            batch: self,
            head: Head {
                name,
                write_key,
                profile_id: None,
                session_id: None,
                message_id: None,
                timestamp_ms: None,
                anonymous_id: None,
            },
            error: None,
        }
    }

    /// The number of events in the batch.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.events.clear();
        self.depths.clear();
        self.scratch.clear();
    }
}

/// The head fields of an event being written.
struct Head<'a> {
    name: &'a str,
    write_key: &'a str,
    profile_id: Option<&'a str>,
    session_id: Option<&'a str>,
    message_id: Option<&'a str>,
    timestamp_ms: Option<i64>,
    anonymous_id: Option<String>,
}

/// One event being added to an [`EventBatch`]; it joins the batch when dropped.
pub struct EventWriter<'b, 'a> {
    batch: &'b mut EventBatch<'a>,
    head: Head<'a>,
    /// The first field error (the event's outcome).
    error: Option<Error>,
}

impl<'a> EventWriter<'_, 'a> {
    /// The profile it happens on behalf of.
    pub fn profile(mut self, id: &'a str) -> Self {
        self.head.profile_id = Some(id);
        self
    }

    /// The session.
    pub fn session(mut self, id: &'a str) -> Self {
        self.head.session_id = Some(id);
        self
    }

    /// The client's idempotency key (duplicates within the window are stored once).
    pub fn message_id(mut self, id: &'a str) -> Self {
        self.head.message_id = Some(id);
        self
    }

    /// When it happened (ms since the Unix epoch); default: when it is received.
    pub fn timestamp_ms(mut self, ms: i64) -> Self {
        self.head.timestamp_ms = Some(ms);
        self
    }

    /// Adds a property, encoded now. A key may be given once.
    pub fn property(mut self, key: &str, value: impl PropertyValue) -> Self {
        if let Err(why) = self.batch.properties.put(key, &value)
            && self.error.is_none()
        {
            self.error = Some(Error::invalid(format!("properties.{key}"), why));
        }
        self
    }

    /// Adds a context field (`locale`, `ip`, `page`, `anonymous_id`...).
    pub fn context(mut self, key: &str, value: impl PropertyValue) -> Self {
        if key == "anonymous_id" {
            self.head.anonymous_id = value.as_str().map(str::to_owned);
        }
        if let Err(why) = self.batch.context.put(key, &value)
            && self.error.is_none()
        {
            self.error = Some(Error::invalid(format!("context.{key}"), why));
        }
        self
    }
}

impl Drop for EventWriter<'_, '_> {
    fn drop(&mut self) {
        let batch = &mut *self.batch;
        let head = &mut self.head;
        let outcome = match self.error.take() {
            Some(e) => Err(e),
            None => {
                let properties = batch.properties.write_to(&mut batch.scratch);
                let context = batch.context.write_to(&mut batch.scratch);
                Ok(RawEvent {
                    name: Cow::Borrowed(head.name),
                    write_key: Cow::Borrowed(head.write_key),
                    profile_id: head.profile_id.map(Cow::Borrowed),
                    session_id: head.session_id.map(Cow::Borrowed),
                    message_id: head.message_id.map(Cow::Borrowed),
                    timestamp_ms: head.timestamp_ms,
                    anonymous_id: head.anonymous_id.take().map(Cow::Owned),
                    properties,
                    context,
                })
            }
        };
        batch.events.push(outcome);
        batch
            .depths
            .push(1 + batch.properties.depth.max(batch.context.depth));
    }
}

/// Checks a built event against the store's limits (what the JSON parser checks
/// as it reads); `depth` is how deeply its objects nest.
pub(crate) fn check_built(event: &RawEvent<'_>, depth: usize, limits: &Limits) -> Result<()> {
    if event.write_key.is_empty() {
        return Err(Error::invalid("write_key", "missing"));
    }
    validate_head(&event.name, event.ids(), event.timestamp_ms, limits)?;
    if depth > limits.depth_max {
        return Err(Error::invalid(
            "properties",
            format!("nested deeper than {} levels", limits.depth_max),
        ));
    }
    Ok(())
}

/// A value a property or context field can have: integers, floats, booleans,
/// strings, `Option` (None is null), and firstlog's own [`Value`] and [`Map`].
/// (Sealed: these are the types the body encoding has.)
pub trait PropertyValue: sealed::Encode {}

impl<T: sealed::Encode> PropertyValue for T {}

mod sealed {
    use crate::codec::value::EncodeError;

    /// How a property value goes into the body encoding (FORMAT.md §2.3).
    pub trait Encode {
        /// Appends the value, entering at most `levels` containers.
        fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError>;

        /// The value when it is a string.
        fn as_str(&self) -> Option<&str> {
            None
        }

        /// How deeply arrays and objects nest inside it (a scalar: 0).
        fn depth(&self) -> usize {
            0
        }
    }
}

use sealed::Encode;

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
                enc::put_int(out, i64::from(*self));
                Ok(())
            }
        }
    )*};
}
int_value!(i8, i16, i32, i64, u8, u16, u32);

impl Encode for u64 {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_uint(out, *self);
        Ok(())
    }
}

impl Encode for usize {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_uint(out, *self as u64);
        Ok(())
    }
}

impl Encode for f64 {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_float(out, *self)
    }
}

impl Encode for f32 {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_float(out, f64::from(*self))
    }
}

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        out.push(if *self { enc::TRUE } else { enc::FALSE });
        Ok(())
    }
}

impl Encode for &str {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_string(out, self);
        Ok(())
    }
    fn as_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_string(out, self);
        Ok(())
    }
    fn as_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl Encode for &String {
    fn encode(&self, out: &mut Vec<u8>, _: usize) -> Result<(), EncodeError> {
        enc::put_string(out, self);
        Ok(())
    }
    fn as_str(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.encode(out, levels),
            None => {
                out.push(enc::NULL);
                Ok(())
            }
        }
    }
    fn as_str(&self) -> Option<&str> {
        self.as_ref().and_then(Encode::as_str)
    }
    fn depth(&self) -> usize {
        self.as_ref().map_or(0, Encode::depth)
    }
}

impl<S: AsRef<str>> Encode for &Value<S> {
    fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError> {
        enc::encode_value(out, self, levels)
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }
    fn depth(&self) -> usize {
        Value::depth(self)
    }
}

impl<S: AsRef<str>> Encode for Value<S> {
    fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError> {
        enc::encode_value(out, self, levels)
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }
    fn depth(&self) -> usize {
        Value::depth(self)
    }
}

impl<S: AsRef<str>> Encode for &Map<S> {
    fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError> {
        enc::encode_object(out, self, levels)
    }
    fn depth(&self) -> usize {
        1 + self.values().map(Value::depth).max().unwrap_or(0)
    }
}

/// An object given as its fields, in order (no `Map` to build):
/// `&[("name", "analytics.js"), ("version", "2.1")]`.
impl<K: AsRef<str>, V: Encode> Encode for &[(K, V)] {
    fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError> {
        if levels == 0 {
            return Err(EncodeError::TooDeep);
        }
        for (i, (key, _)) in self.iter().enumerate() {
            if self[..i].iter().any(|(k, _)| k.as_ref() == key.as_ref()) {
                return Err(EncodeError::DuplicateKey);
            }
        }
        let at = enc::begin(out, enc::OBJECT);
        for (key, value) in self.iter() {
            enc::put_str(out, key.as_ref());
            value.encode(out, levels - 1)?;
        }
        enc::end(out, at);
        Ok(())
    }
    fn depth(&self) -> usize {
        1 + self.iter().map(|(_, v)| v.depth()).max().unwrap_or(0)
    }
}

impl<K: AsRef<str>, V: Encode, const N: usize> Encode for [(K, V); N] {
    fn encode(&self, out: &mut Vec<u8>, levels: usize) -> Result<(), EncodeError> {
        self.as_slice().encode(out, levels)
    }
    fn depth(&self) -> usize {
        self.as_slice().depth()
    }
}
