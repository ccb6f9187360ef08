//! Events read back from the store: frozen, read-only values.

use serde::Serialize;

use super::json::JsonMap;
use super::{Map, SourceId};
use crate::time::format_rfc3339;

/// A stored event. Read-only: no method changes it.
///
/// `Event` (= `Event<String>`) owns its data; [`EventRef`] borrows every string
/// from the store's memory map and allocates nothing per string.
#[derive(Clone, Debug, PartialEq)]
pub struct Event<S = String> {
    seq: u64,
    source: SourceId,
    timestamp_ms: i64,
    received_ms: i64,
    name: S,
    profile_id: Option<S>,
    session_id: Option<S>,
    message_id: Option<S>,
    properties: Map<S>,
    context: Map<S>,
}

/// A stored event borrowed from the store's memory (see [`Query::for_each`](crate::Query::for_each)).
pub type EventRef<'a> = Event<&'a str>;

impl<S> Event<S> {
    /// Assembles a stored event from its header fields and decoded body.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        seq: u64,
        source: SourceId,
        timestamp_ms: i64,
        received_ms: i64,
        name: S,
        ids: [Option<S>; 3],
        properties: Map<S>,
        context: Map<S>,
    ) -> Event<S> {
        let [profile_id, session_id, message_id] = ids;
        Event {
            seq,
            source,
            timestamp_ms,
            received_ms,
            name,
            profile_id,
            session_id,
            message_id,
            properties,
            context,
        }
    }
}

impl<S: AsRef<str>> Event<S> {
    /// The global sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The source it was collected for.
    pub fn source(&self) -> SourceId {
        self.source
    }
    /// The event name.
    pub fn name(&self) -> &str {
        self.name.as_ref()
    }
    /// The profile it happened on behalf of.
    pub fn profile_id(&self) -> Option<&str> {
        self.profile_id.as_ref().map(AsRef::as_ref)
    }
    /// The session.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_ref().map(AsRef::as_ref)
    }
    /// The client's idempotency key.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_ref().map(AsRef::as_ref)
    }
    /// When it happened (ms since the Unix epoch, UTC).
    pub fn timestamp(&self) -> i64 {
        self.timestamp_ms
    }
    /// When the store received it (ms since the Unix epoch, UTC).
    pub fn received_at(&self) -> i64 {
        self.received_ms
    }
    /// The properties, frozen after the rules ran.
    pub fn properties(&self) -> &Map<S> {
        &self.properties
    }
    /// The context.
    pub fn context(&self) -> &Map<S> {
        &self.context
    }

    /// An owned copy.
    pub fn to_owned_event(&self) -> Event {
        let own = |s: &Option<S>| s.as_ref().map(|s| s.as_ref().to_owned());
        Event {
            seq: self.seq,
            source: self.source,
            timestamp_ms: self.timestamp_ms,
            received_ms: self.received_ms,
            name: self.name.as_ref().to_owned(),
            profile_id: own(&self.profile_id),
            session_id: own(&self.session_id),
            message_id: own(&self.message_id),
            properties: self.properties.to_owned_map(),
            context: self.context.to_owned_map(),
        }
    }

    /// The event as one JSON object: `seq`, `event`, `source_id`, `profile_id`,
    /// `session_id`, `timestamp` and `received_at` (RFC 3339), `message_id`,
    /// `properties`, `context`.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the JSON of [`to_json`](Self::to_json) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        #[derive(Serialize)]
        #[serde(bound(serialize = "S: AsRef<str>"))]
        struct Json<'a, S: AsRef<str>> {
            seq: u64,
            event: &'a str,
            source_id: u32,
            profile_id: Option<&'a str>,
            session_id: Option<&'a str>,
            timestamp: String,
            received_at: String,
            message_id: Option<&'a str>,
            properties: JsonMap<'a, S>,
            context: JsonMap<'a, S>,
        }
        let json = Json {
            seq: self.seq,
            event: self.name(),
            source_id: self.source.0,
            profile_id: self.profile_id(),
            session_id: self.session_id(),
            timestamp: format_rfc3339(self.timestamp_ms),
            received_at: format_rfc3339(self.received_ms),
            message_id: self.message_id(),
            properties: JsonMap(&self.properties),
            context: JsonMap(&self.context),
        };
        // Writing plain data into a Vec cannot fail.
        let _ = serde_json::to_writer(out, &json);
    }
}
