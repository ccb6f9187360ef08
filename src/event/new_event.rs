//! Events on their way in: the typed builder, the limits they must respect, and
//! the mutable draft that rules see before the event is frozen.

use super::{Map, Value};
use crate::catalog::SourceId;
use crate::error::{Error, Result};
use crate::record::codec::BodyOut;
use crate::time::{MAX_MS, MIN_MS};

/// Limits on what collection accepts. Defaults follow Segment's: 32 KiB per event,
/// 500 KiB per batch request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest event: its JSON payload, and its encoded body.
    pub event_bytes_max: usize,
    /// Largest batch request (raw JSON bytes).
    pub batch_bytes_max: usize,
    /// Most events in one JSON batch request (typed batches are bounded by the
    /// caller's memory and written in atomic units of at most 16 MiB).
    pub batch_events_max: usize,
    /// Longest event name, in bytes.
    pub name_bytes_max: usize,
    /// Longest profile, session or message id, in bytes.
    pub id_bytes_max: usize,
    /// Deepest nesting of arrays and objects inside `properties` and `context`
    /// (an object of scalars has depth 1). At most 100.
    pub depth_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            event_bytes_max: 32 * 1024,
            batch_bytes_max: 500 * 1024,
            batch_events_max: 10_000,
            name_bytes_max: 512,
            id_bytes_max: 1024,
            depth_max: 32,
        }
    }
}

impl Limits {
    /// The hard ceiling of `depth_max` (the JSON parser's own recursion guard is above it).
    pub const DEPTH_CEILING: usize = 100;

    pub(crate) fn check(&self) -> Result<()> {
        if self.depth_max == 0 || self.depth_max > Self::DEPTH_CEILING {
            return Err(Error::argument("limits.depth_max", "must be 1 to 100"));
        }
        if self.event_bytes_max == 0 || self.event_bytes_max > crate::record::BODY_BYTES_MAX {
            return Err(Error::argument(
                "limits.event_bytes_max",
                "must be 1 byte to 16 MiB",
            ));
        }
        if self.name_bytes_max == 0 || self.id_bytes_max == 0 || self.batch_events_max == 0 {
            return Err(Error::argument("limits", "limits must be positive"));
        }
        Ok(())
    }
}

/// A new event, built in code.
///
/// ```
/// use firstlog::NewEvent;
/// let event = NewEvent::new("Agent Assigned", "wk_example")
///     .profile("user-42")
///     .property("display_name", "Sally")
///     .property("initiated_from", "Chat Widget");
/// assert_eq!(event.name(), "Agent Assigned");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewEvent {
    pub(crate) name: String,
    pub(crate) write_key: String,
    pub(crate) profile_id: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) timestamp_ms: Option<i64>,
    pub(crate) properties: Map,
    pub(crate) context: Map,
}

impl NewEvent {
    /// An event named `name` for the source with `write_key`.
    pub fn new(name: impl Into<String>, write_key: impl Into<String>) -> Self {
        NewEvent {
            name: name.into(),
            write_key: write_key.into(),
            ..Default::default()
        }
    }

    /// The Profile the event happened on behalf of.
    pub fn profile(mut self, profile_id: impl Into<String>) -> Self {
        self.profile_id = Some(profile_id.into());
        self
    }

    /// The session it happened in.
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// A client idempotency key: a retry with the same key (and source) within the
    /// dedup window is stored once.
    pub fn message_id(mut self, message_id: impl Into<String>) -> Self {
        self.message_id = Some(message_id.into());
        self
    }

    /// When it happened (ms since the Unix epoch); the receive time when not set.
    pub fn timestamp_ms(mut self, ms: i64) -> Self {
        self.timestamp_ms = Some(ms);
        self
    }

    /// Sets one property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(key, value);
        self
    }

    /// Replaces all properties.
    pub fn properties(mut self, properties: Map) -> Self {
        self.properties = properties;
        self
    }

    /// Sets one context field (`ip`, `user_agent`, `page`, `library`, `locale`, ...).
    pub fn context_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.context.insert(key, value);
        self
    }

    /// Replaces the whole context.
    pub fn context(mut self, context: Map) -> Self {
        self.context = context;
        self
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The write key.
    pub fn write_key(&self) -> &str {
        &self.write_key
    }

    /// The body to encode, borrowing from this event.
    pub(crate) fn body(&self) -> BodyOut<'_> {
        BodyOut {
            name: &self.name,
            profile_id: self.profile_id.as_deref(),
            session_id: self.session_id.as_deref(),
            message_id: self.message_id.as_deref(),
            properties: &self.properties,
            context: &self.context,
        }
    }

    /// Checks the event against `limits` (sizes of the whole event are checked when
    /// it is encoded).
    pub(crate) fn validate(&self, limits: &Limits) -> Result<()> {
        if self.write_key.is_empty() {
            return Err(Error::invalid("write_key", "missing"));
        }
        validate_body(&self.body(), self.timestamp_ms, limits)
    }
}

/// The checks shared by typed events, JSON payloads and drafts after rules: on
/// the body about to be encoded, and the timestamp.
pub(crate) fn validate_body<S: AsRef<str>>(
    body: &BodyOut<'_, S>,
    timestamp_ms: Option<i64>,
    limits: &Limits,
) -> Result<()> {
    validate_name(body.name, limits)?;
    let ids = [
        ("profile_id", body.profile_id),
        ("session_id", body.session_id),
        ("message_id", body.message_id),
    ];
    let maps = [body.properties, body.context];
    for (field, id) in ids {
        if let Some(id) = id {
            if id.is_empty() {
                return Err(Error::invalid(field, "must not be empty"));
            }
            if id.len() > limits.id_bytes_max {
                return Err(Error::invalid(
                    field,
                    format!("longer than {} bytes", limits.id_bytes_max),
                ));
            }
        }
    }
    if let Some(ts) = timestamp_ms {
        check_timestamp(ts)?;
    }
    for (field, map) in ["properties", "context"].into_iter().zip(maps) {
        let mut depth = 1;
        for value in map.values() {
            // Scalars (almost every property) are settled here, without a call.
            match value {
                Value::Array(_) | Value::Object(_) => {
                    depth = depth.max(1 + checked_depth(field, value)?);
                }
                Value::Float(f) if !f.is_finite() => {
                    return Err(Error::invalid(field, "numbers must be finite"));
                }
                _ => {}
            }
        }
        if depth > limits.depth_max {
            return Err(Error::invalid(
                field,
                format!(
                    "nested {depth} levels deep; the limit is {}",
                    limits.depth_max
                ),
            ));
        }
    }
    Ok(())
}

/// Checks an event name: non-empty and not too long.
pub(crate) fn validate_name(name: &str, limits: &Limits) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("event", "must not be empty"));
    }
    if name.len() > limits.name_bytes_max {
        return Err(Error::invalid(
            "event",
            format!(
                "name is {} bytes; the limit is {}",
                name.len(),
                limits.name_bytes_max
            ),
        ));
    }
    Ok(())
}

/// Checks that a timestamp is between years 1 and 9999.
pub(crate) fn check_timestamp(ms: i64) -> Result<()> {
    if !(MIN_MS..=MAX_MS).contains(&ms) {
        return Err(Error::invalid("timestamp", "outside years 0001 to 9999"));
    }
    Ok(())
}

/// The nesting depth of a value (a scalar is 0), checking on the way that floats
/// are finite (JSON has no NaN or infinity).
fn checked_depth<S: AsRef<str>>(field: &str, value: &Value<S>) -> Result<usize> {
    match value {
        Value::Float(f) if !f.is_finite() => Err(Error::invalid(field, "numbers must be finite")),
        Value::Array(items) => {
            let mut depth = 0;
            for item in items {
                depth = depth.max(checked_depth(field, item)?);
            }
            Ok(depth + 1)
        }
        Value::Object(map) => {
            let mut depth = 0;
            for item in map.values() {
                depth = depth.max(checked_depth(field, item)?);
            }
            Ok(depth + 1)
        }
        _ => Ok(0),
    }
}

/// An event between validation and freezing: what rules see and may change.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// The event name.
    pub name: String,
    /// The profile.
    pub profile_id: Option<String>,
    /// The session.
    pub session_id: Option<String>,
    /// When it happened (ms since the Unix epoch).
    pub timestamp_ms: i64,
    /// Properties (frozen after the last rule).
    pub properties: Map,
    /// Context.
    pub context: Map,
    source: SourceId,
    message_id: Option<String>,
    received_ms: i64,
}

impl Draft {
    pub(crate) fn new(event: NewEvent, source: SourceId, received_ms: i64) -> Draft {
        Draft {
            name: event.name,
            profile_id: event.profile_id,
            session_id: event.session_id,
            timestamp_ms: event.timestamp_ms.unwrap_or(received_ms),
            properties: event.properties,
            context: event.context,
            source,
            message_id: event.message_id,
            received_ms,
        }
    }

    /// The source the event was collected for.
    pub fn source(&self) -> SourceId {
        self.source
    }

    /// The client's message id (read-only: it is the dedup key).
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// When the store received the event (ms since the Unix epoch).
    pub fn received_ms(&self) -> i64 {
        self.received_ms
    }

    /// The body to encode, borrowing from the draft.
    pub(crate) fn body(&self) -> BodyOut<'_> {
        BodyOut {
            name: &self.name,
            profile_id: self.profile_id.as_deref(),
            session_id: self.session_id.as_deref(),
            message_id: self.message_id.as_deref(),
            properties: &self.properties,
            context: &self.context,
        }
    }

    /// Checks what rules may have changed.
    pub(crate) fn validate(&self, limits: &Limits) -> Result<()> {
        validate_body(&self.body(), Some(self.timestamp_ms), limits)
    }
}
