//! Context fields the collector fills in for the client: the request's
//! `User-Agent` and the client's IP, added to an event's `context` as
//! `userAgent` and `ip` when its payload did not set them (the names the
//! Segment spec and firstparty.js use).

use super::payload::RawEvent;
use crate::codec::value::{self as enc, Reader};

/// Context fields to add to each event whose payload's `context` lacks them.
/// The HTTP collector passes the request's; library callers may pass their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContextDefaults<'a> {
    /// `context.userAgent`, when the payload has none.
    pub user_agent: Option<&'a str>,
    /// `context.ip`, when the payload has none.
    pub ip: Option<&'a str>,
}

impl ContextDefaults<'_> {
    /// True when nothing would be added.
    pub fn is_empty(&self) -> bool {
        self.user_agent.is_none() && self.ip.is_none()
    }

    /// The context keys and the values to give them when missing.
    pub(crate) fn fields(&self) -> [(&'static str, Option<&str>); 2] {
        [("userAgent", self.user_agent), ("ip", self.ip)]
    }

    /// Adds the missing fields to `event`'s context: the object is written again
    /// at the end of `scratch` with them, and the event points at the new copy.
    pub(crate) fn fill(&self, event: &mut RawEvent<'_>, scratch: &mut Vec<u8>) {
        if self.is_empty() {
            return;
        }
        let old = event.context.clone();
        let missing = self.fields().map(|(key, value)| {
            value
                .filter(|_| !has_key(&scratch[old.clone()], key))
                .map(|v| (key, v))
        });
        if missing.iter().all(Option::is_none) {
            return;
        }
        // The old object: tag (1), length (4), entries.
        let entries = old.start + 5..old.end;
        let start = scratch.len();
        let at = enc::begin(scratch, enc::OBJECT);
        scratch.extend_from_within(entries);
        for (key, value) in missing.into_iter().flatten() {
            enc::put_str(scratch, key);
            enc::put_string(scratch, value);
        }
        enc::end(scratch, at);
        event.context = start..scratch.len();
    }
}

/// True when the encoded object `object` (tag, length, entries) has `key` at
/// its top level. The object was just encoded by the intake: a decoding
/// failure cannot happen, and would only mean the field is added.
fn has_key(object: &[u8], key: &str) -> bool {
    let Some(entries) = object.get(5..) else {
        return false;
    };
    let mut r = Reader::new(entries);
    while !r.at_end() {
        match r.str() {
            Ok(k) if k == key => return true,
            Ok(_) => {
                if enc::skip_value(&mut r).is_err() {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    false
}
