//! The mutable draft that rules see between validation and freezing.

use super::{BodyOut, Limits, Map, NewEvent, SourceId, validate_head};
use crate::error::Result;

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
        let body = self.body();
        let ids = [body.profile_id, body.session_id, body.message_id];
        validate_head(body.name, ids, Some(self.timestamp_ms), limits)
    }
}
