//! A new event built in code: the typed builder.

use super::{BodyOut, Limits, Map, Value, validate_head};
use crate::error::{Error, Result};

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
        let body = self.body();
        let ids = [body.profile_id, body.session_id, body.message_id];
        validate_head(body.name, ids, self.timestamp_ms, limits)
    }
}
