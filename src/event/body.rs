//! The body of a record, as the encoder sees it: borrowed parts of a frozen event.

use serde::Serialize;

use super::Map;

/// A body to encode, borrowing from the frozen event. `S` is the string type of
/// its maps (owned for typed events and drafts, borrowed from the request for
/// JSON payloads); every `S` encodes to the same bytes.
#[derive(Serialize)]
#[serde(bound(serialize = "S: Serialize"))]
pub(crate) struct BodyOut<'a, S = String> {
    pub name: &'a str,
    pub profile_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub properties: &'a Map<S>,
    pub context: &'a Map<S>,
}
