//! Events read back from the store: frozen, read-only values.

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::json::{write_i64, write_map, write_str, write_u64};
use super::{Map, SourceId};
use crate::time::format_rfc3339;

/// What every stored event has besides its body: the fields the record header
/// holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) seq: u64,
    pub(crate) source: SourceId,
    pub(crate) timestamp_ms: i64,
    pub(crate) received_ms: i64,
}

/// A stored event, owned. Read-only: no method changes it. (Reads that borrow
/// from the store's memory instead hand out [`EventRef`](crate::EventRef)s.)
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    stamp: Stamp,
    name: String,
    profile_id: Option<String>,
    session_id: Option<String>,
    message_id: Option<String>,
    properties: Map,
    context: Map,
}

impl Event {
    /// Assembles a stored event from its header fields and decoded body.
    pub(crate) fn from_parts(
        stamp: Stamp,
        name: String,
        ids: [Option<String>; 3],
        properties: Map,
        context: Map,
    ) -> Event {
        let [profile_id, session_id, message_id] = ids;
        Event {
            stamp,
            name,
            profile_id,
            session_id,
            message_id,
            properties,
            context,
        }
    }

    /// The global sequence number.
    pub fn seq(&self) -> u64 {
        self.stamp.seq
    }
    /// The source it was collected for.
    pub fn source(&self) -> SourceId {
        self.stamp.source
    }
    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The profile it happened on behalf of.
    pub fn profile_id(&self) -> Option<&str> {
        self.profile_id.as_deref()
    }
    /// The session.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
    /// The client's idempotency key.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
    /// When it happened (ms since the Unix epoch, UTC).
    pub fn timestamp(&self) -> i64 {
        self.stamp.timestamp_ms
    }
    /// When the store received it (ms since the Unix epoch, UTC).
    pub fn received_at(&self) -> i64 {
        self.stamp.received_ms
    }
    /// The properties, frozen after the rules ran.
    pub fn properties(&self) -> &Map {
        &self.properties
    }
    /// The context.
    pub fn context(&self) -> &Map {
        &self.context
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
        let ids = [self.profile_id(), self.session_id(), self.message_id()];
        write_event_head(out, &self.stamp, &self.name, ids);
        write_map(out, &self.properties);
        out.extend_from_slice(b",\"context\":");
        write_map(out, &self.context);
        out.push(b'}');
    }
}

/// Appends a stored event's JSON up to its properties (the caller writes the
/// properties, then `,"context":`, the context and `}`): one layout for owned
/// events and for events written straight from stored bytes.
pub(crate) fn write_event_head(
    out: &mut Vec<u8>,
    stamp: &Stamp,
    name: &str,
    [profile_id, session_id, message_id]: [Option<&str>; 3],
) {
    let opt = |out: &mut Vec<u8>, s: Option<&str>| match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    };
    out.extend_from_slice(b"{\"seq\":");
    write_u64(out, stamp.seq);
    out.extend_from_slice(b",\"event\":");
    write_str(out, name);
    out.extend_from_slice(b",\"source_id\":");
    write_i64(out, i64::from(stamp.source.0));
    out.extend_from_slice(b",\"profile_id\":");
    opt(out, profile_id);
    out.extend_from_slice(b",\"session_id\":");
    opt(out, session_id);
    out.extend_from_slice(b",\"timestamp\":");
    write_str(out, &format_rfc3339(stamp.timestamp_ms));
    out.extend_from_slice(b",\"received_at\":");
    write_str(out, &format_rfc3339(stamp.received_ms));
    out.extend_from_slice(b",\"message_id\":");
    opt(out, message_id);
    out.extend_from_slice(b",\"properties\":");
}

/// An event serializes as its [`to_json`](Event::to_json) object.
impl Serialize for Event {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        let mut out = s.serialize_struct("Event", 10)?;
        out.serialize_field("seq", &self.seq())?;
        out.serialize_field("event", self.name())?;
        out.serialize_field("source_id", &self.source().0)?;
        out.serialize_field("profile_id", &self.profile_id())?;
        out.serialize_field("session_id", &self.session_id())?;
        out.serialize_field("timestamp", &format_rfc3339(self.timestamp()))?;
        out.serialize_field("received_at", &format_rfc3339(self.received_at()))?;
        out.serialize_field("message_id", &self.message_id())?;
        out.serialize_field("properties", self.properties())?;
        out.serialize_field("context", self.context())?;
        out.end()
    }
}
