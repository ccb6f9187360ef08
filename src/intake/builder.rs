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
    /// The encoded objects of every event. The event being written encodes its
    /// properties here directly (its object started at `open`).
    pub(crate) scratch: Vec<u8>,
    pub(crate) events: Vec<Result<RawEvent<'a>>>,
    /// How deeply each event's properties and context nest (an object of
    /// scalars: 1), checked against the store's limit when collected.
    pub(crate) depths: Vec<usize>,
    /// The keys of the event being written: its properties (in `scratch`) and
    /// its context (in `context`).
    property_keys: Keys,
    context_keys: Keys,
    context: Vec<u8>,
}

/// The keys of an object being built (a key may appear once), and the deepest
/// value in it (a scalar: 0).
#[derive(Default)]
struct Keys {
    at: Vec<(usize, usize)>,
    depth: usize,
}

impl Keys {
    fn clear(&mut self) {
        self.at.clear();
        self.depth = 0;
    }

    /// Appends `key: value` to the object contents in `out`; refuses a key
    /// already present. On error `out` is left as it was.
    #[inline]
    fn put<V: Encode + ?Sized>(
        &mut self,
        out: &mut Vec<u8>,
        key: &str,
        value: &V,
    ) -> Result<(), &'static str> {
        let taken = self
            .at
            .iter()
            .any(|&(at, len)| len == key.len() && &out[at..at + len] == key.as_bytes());
        if taken {
            return Err("given twice");
        }
        let mark = out.len();
        enc::put_str(out, key);
        let key_at = out.len() - key.len();
        // The object itself is the first level.
        match value.encode(out, Limits::DEPTH_CEILING - 1) {
            Ok(()) => {
                self.at.push((key_at, key.len()));
                self.depth = self.depth.max(value.depth());
                Ok(())
            }
            Err(e) => {
                out.truncate(mark);
                Err(match e {
                    EncodeError::NotFinite => "numbers must be finite",
                    EncodeError::TooDeep => "nested too deep",
                    EncodeError::DuplicateKey => "an object has a key twice",
                })
            }
        }
    }
}

impl<'a> EventBatch<'a> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts an event; it joins the batch when the returned writer is dropped
    /// (at the end of the statement, or of the writer's scope).
    pub fn event(&mut self, name: &'a str, write_key: &'a str) -> EventWriter<'_, 'a> {
        self.property_keys.clear();
        self.context_keys.clear();
        self.context.clear();
        let start = self.scratch.len();
        let length_at = enc::begin(&mut self.scratch, enc::OBJECT);
        EventWriter {
            batch: self,
            start,
            length_at,
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
/// Its methods chain (`batch.event(..).profile(..).property(..);`) or are
/// called one by one on a binding.
pub struct EventWriter<'b, 'a> {
    batch: &'b mut EventBatch<'a>,
    /// Where the event's properties object starts in the scratch, and where its
    /// length goes.
    start: usize,
    length_at: usize,
    head: Head<'a>,
    /// The first field error (the event's outcome).
    error: Option<Box<Error>>,
}

impl<'a> EventWriter<'_, 'a> {
    /// The profile it happens on behalf of.
    pub fn profile(&mut self, id: &'a str) -> &mut Self {
        self.head.profile_id = Some(id);
        self
    }

    /// The session.
    pub fn session(&mut self, id: &'a str) -> &mut Self {
        self.head.session_id = Some(id);
        self
    }

    /// The client's idempotency key (duplicates within the window are stored once).
    pub fn message_id(&mut self, id: &'a str) -> &mut Self {
        self.head.message_id = Some(id);
        self
    }

    /// When it happened (ms since the Unix epoch); default: when it is received.
    pub fn timestamp_ms(&mut self, ms: i64) -> &mut Self {
        self.head.timestamp_ms = Some(ms);
        self
    }

    /// Adds a property, encoded now. A key may be given once.
    pub fn property(&mut self, key: &str, value: impl PropertyValue) -> &mut Self {
        let batch = &mut *self.batch;
        let put = batch.property_keys.put(&mut batch.scratch, key, &value);
        self.note("properties", key, put);
        self
    }

    /// Adds a context field (`locale`, `ip`, `page`, `anonymous_id`...).
    pub fn context(&mut self, key: &str, value: impl PropertyValue) -> &mut Self {
        if key == "anonymous_id" {
            self.head.anonymous_id = value.as_str().map(str::to_owned);
        }
        let batch = &mut *self.batch;
        let put = batch.context_keys.put(&mut batch.context, key, &value);
        self.note("context", key, put);
        self
    }

    /// Keeps the first field error as the event's outcome.
    #[inline]
    fn note(&mut self, object: &str, key: &str, put: Result<(), &'static str>) {
        if let Err(why) = put
            && self.error.is_none()
        {
            self.error = Some(Box::new(Error::invalid(format!("{object}.{key}"), why)));
        }
    }
}

impl Drop for EventWriter<'_, '_> {
    fn drop(&mut self) {
        let batch = &mut *self.batch;
        let outcome = match self.error.take() {
            Some(e) => {
                batch.scratch.truncate(self.start);
                Err(*e)
            }
            None => {
                enc::end(&mut batch.scratch, self.length_at);
                let properties = self.start..batch.scratch.len();
                let at = enc::begin(&mut batch.scratch, enc::OBJECT);
                batch.scratch.extend_from_slice(&batch.context);
                enc::end(&mut batch.scratch, at);
                let context = properties.end..batch.scratch.len();
                let head = &mut self.head;
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
        let depth = batch.property_keys.depth.max(batch.context_keys.depth);
        batch.depths.push(1 + depth);
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
