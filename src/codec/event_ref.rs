//! Stored events read in place: [`EventRef`].

use std::path::Path;

use super::body::{BodyView, view_body};
use super::value::DecodeError;
use crate::error::{Error, Result};
use crate::event::{Event, Map, SourceId, Stamp, Value, write_event_head};
use crate::record::RecordView;

/// A stored event read in place from the store's memory map: the name and ids
/// borrow from it (no allocation per string); the properties and the context are
/// decoded only when asked, and can be written as JSON straight from the stored
/// bytes. Handed out by [`Query::for_each`](crate::Query::for_each).
///
/// The record's checksum was verified when it was read; decoding its objects can
/// still fail (as [`Error::Corrupt`]) for a record that is well-formed but whose
/// contents are not, which firstlog never writes.
#[derive(Clone, Copy, Debug)]
pub struct EventRef<'a> {
    stamp: Stamp,
    body: BodyView<'a>,
    file: &'a Path,
    offset: u64,
}

/// Reads the event of a CRC-checked record, found in `file` at `offset`.
pub(crate) fn decode_event<'a>(
    record: &RecordView<'a>,
    file: &'a Path,
    offset: u64,
) -> Result<EventRef<'a>> {
    let h = &record.header;
    let stamp = Stamp {
        seq: h.seq,
        source: SourceId(h.source),
        timestamp_ms: h.timestamp_ms,
        received_ms: h.received_ms,
    };
    let body = view_body(record.body).map_err(|e| body_error(file, offset, e))?;
    Ok(EventRef {
        stamp,
        body,
        file,
        offset,
    })
}

/// A body that does not decode: corruption at the record.
fn body_error(file: &Path, offset: u64, e: DecodeError) -> Error {
    Error::corrupt(
        file,
        offset,
        format!(
            "record body does not decode: {} (body byte {})",
            e.reason, e.at
        ),
    )
}

impl<'a> EventRef<'a> {
    /// The global sequence number.
    pub fn seq(&self) -> u64 {
        self.stamp.seq
    }
    /// The source it was collected for.
    pub fn source(&self) -> SourceId {
        self.stamp.source
    }
    /// The event name.
    pub fn name(&self) -> &'a str {
        self.body.name
    }
    /// The profile it happened on behalf of.
    pub fn profile_id(&self) -> Option<&'a str> {
        self.body.profile_id
    }
    /// The anonymous id kept in `context.anonymous_id` (the Segment endpoints
    /// put `anonymousId` there when a `userId` is the profile), when it is a
    /// string.
    pub fn anonymous_id(&self) -> Result<Option<&'a str>> {
        Ok(match self.context_field("anonymous_id")? {
            Some(Value::String(id)) => Some(id),
            _ => None,
        })
    }
    /// The session.
    pub fn session_id(&self) -> Option<&'a str> {
        self.body.session_id
    }
    /// The client's idempotency key.
    pub fn message_id(&self) -> Option<&'a str> {
        self.body.message_id
    }
    /// When it happened (ms since the Unix epoch, UTC).
    pub fn timestamp(&self) -> i64 {
        self.stamp.timestamp_ms
    }
    /// When the store received it (ms since the Unix epoch, UTC).
    pub fn received_at(&self) -> i64 {
        self.stamp.received_ms
    }

    fn decoded<T>(&self, got: Result<T, DecodeError>) -> Result<T> {
        got.map_err(|e| body_error(self.file, self.offset, e))
    }

    /// The properties, decoded (strings borrowed from the store).
    pub fn properties(&self) -> Result<Map<&'a str>> {
        self.decoded(self.body.properties.decode())
    }

    /// The context, decoded.
    pub fn context(&self) -> Result<Map<&'a str>> {
        self.decoded(self.body.context.decode())
    }

    /// One property, decoding no other.
    pub fn property(&self, key: &str) -> Result<Option<Value<&'a str>>> {
        self.decoded(self.body.properties.get(key))
    }

    /// One context field, decoding no other.
    pub fn context_field(&self, key: &str) -> Result<Option<Value<&'a str>>> {
        self.decoded(self.body.context.get(key))
    }

    /// Appends the properties as a JSON object, straight from the stored bytes.
    pub fn write_properties_json(&self, out: &mut Vec<u8>) -> Result<()> {
        self.decoded(self.body.properties.write_json(out))
    }

    /// Appends the context as a JSON object, straight from the stored bytes.
    pub fn write_context_json(&self, out: &mut Vec<u8>) -> Result<()> {
        self.decoded(self.body.context.write_json(out))
    }

    /// Appends the event as JSON (the shape of [`Event::to_json`]), straight from
    /// the stored bytes: nothing is decoded into values. On error `out` may hold
    /// part of the object.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<()> {
        let ids = [self.profile_id(), self.session_id(), self.message_id()];
        write_event_head(out, &self.stamp, self.body.name, ids);
        self.write_properties_json(out)?;
        out.extend_from_slice(b",\"context\":");
        self.write_context_json(out)?;
        out.push(b'}');
        Ok(())
    }

    /// The event as JSON text (see [`write_json`](Self::write_json)).
    pub fn to_json(&self) -> Result<String> {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out)?;
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    /// An owned copy, every field decoded.
    pub fn to_owned_event(&self) -> Result<Event> {
        let own = |s: Option<&str>| s.map(str::to_owned);
        Ok(Event::from_parts(
            self.stamp,
            self.body.name.to_owned(),
            [
                own(self.body.profile_id),
                own(self.body.session_id),
                own(self.body.message_id),
            ],
            self.properties()?.to_owned_map(),
            self.context()?.to_owned_map(),
        ))
    }
}
