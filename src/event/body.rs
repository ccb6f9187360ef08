//! The body of a record, as the encoder sees it: borrowed parts of a frozen event.

use super::{Map, Value};

/// A body to encode, borrowing from the frozen event. `S` is the string type of
/// its maps (owned for typed events and drafts, borrowed elsewhere); every `S`
/// encodes to the same bytes.
pub(crate) struct BodyOut<'a, S = String> {
    pub name: &'a str,
    pub profile_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub properties: &'a Map<S>,
    pub context: &'a Map<S>,
}

impl<'a, S: AsRef<str>> BodyOut<'a, S> {
    /// The anonymous id the context keeps (`context.anonymous_id`, a string), if
    /// any: erasure finds a person's events by it too.
    pub(crate) fn anonymous_id(&self) -> Option<&'a str> {
        let context: &'a Map<S> = self.context;
        match context.get("anonymous_id") {
            Some(Value::String(s)) => Some(s.as_ref()),
            _ => None,
        }
    }
}
