//! Segment-compatible messages, translated straight into [`NewEvent`]s, so
//! existing Segment and RudderStack SDKs can use firstlog unchanged.
//!
//! - `track` keeps its `event` name; the other calls become events named by the
//!   guideline: `page` "Page Viewed", `screen` "Screen Viewed", `identify`
//!   "Profile Identified", `group` "Group Identified", `alias` "Profile Aliased".
//!   Their fields go to properties: `name`, `category`, `traits`, `group_id`,
//!   `previous_id`.
//! - `userId` (else `anonymousId`) is the profile; with both, `anonymousId` is
//!   kept in `context.anonymous_id`. `messageId` is the message id (dedup).
//! - Timestamps get Segment's clock-skew correction: timestamp = received -
//!   (sentAt - originalTimestamp); the client's values stay in
//!   `context.original_timestamp` and `context.sent_at`.
//! - The batch-level `context` is merged into each message (the message's own
//!   keys win); any other top-level field of a batch request (rudder-sdk-node's
//!   `timestamp`, ...) goes to `context.batch`. Anything else a message carries
//!   (`integrations`, `channel`, ...) goes to the context under its own key:
//!   nothing is lost.
//! - The request's `User-Agent` and the client's IP fill `context.userAgent`
//!   and `context.ip` when the message has none.

use crate::http::error::ApiError;
use crate::time::parse_rfc3339;
use crate::{ContextDefaults, Map, NewEvent, Value};

/// A Segment call type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Track,
    Page,
    Screen,
    Identify,
    Group,
    Alias,
}

impl Call {
    /// The call of a message's `type`.
    pub(crate) fn from_type(t: &str) -> Option<Call> {
        Some(match t {
            "track" => Call::Track,
            "page" => Call::Page,
            "screen" => Call::Screen,
            "identify" => Call::Identify,
            "group" => Call::Group,
            "alias" => Call::Alias,
            _ => return None,
        })
    }

    /// The stored event name of a non-track call.
    fn event_name(self) -> &'static str {
        match self {
            Call::Track => "",
            Call::Page => "Page Viewed",
            Call::Screen => "Screen Viewed",
            Call::Identify => "Profile Identified",
            Call::Group => "Group Identified",
            Call::Alias => "Profile Aliased",
        }
    }
}

/// What a request says for all of its messages.
#[derive(Default)]
pub(crate) struct Envelope<'a> {
    /// A batch's `context`.
    pub(crate) context: Option<&'a Map>,
    /// A batch's `sentAt`.
    pub(crate) sent_at: Option<&'a Value>,
    /// A batch's other top-level fields (kept in `context.batch`).
    pub(crate) batch_fields: Map,
    /// When the server received the request (ms since the epoch).
    pub(crate) received_ms: i64,
    /// The request's `User-Agent` and the client's IP, for messages without
    /// `context.userAgent` and `context.ip`.
    pub(crate) defaults: ContextDefaults<'a>,
}

/// Fields a message may carry that are mapped, not copied to the context.
const MAPPED: &[&str] = &[
    "type",
    "event",
    "properties",
    "context",
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "traits",
    "name",
    "category",
    "groupId",
    "previousId",
    "writeKey",
];

/// An id field: a non-empty string, or a number written as one.
fn id(msg: &Map, key: &str, at: &str) -> Result<Option<String>, ApiError> {
    match msg.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ (Value::Int(_) | Value::UInt(_))) => Ok(Some(v.to_json())),
        Some(other) => Err(ApiError::invalid(
            format!("{at}{key}"),
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

/// An object field (absent = empty).
fn object(msg: &Map, key: &str, at: &str) -> Result<Map, ApiError> {
    match msg.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(other) => Err(ApiError::invalid(
            format!("{at}{key}"),
            format!("expected an object, found {}", other.type_name()),
        )),
    }
}

/// A time: RFC 3339 text or epoch milliseconds.
fn time(value: Option<&Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_rfc3339(s)
            .map(Some)
            .map_err(|why| ApiError::invalid(field, format!("{s:?}: {why}"))),
        Some(Value::Int(ms)) => Ok(Some(*ms)),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("expected an RFC 3339 time, found {}", other.type_name()),
        )),
    }
}

/// Converts one message of call `call` into an event for `write_key`. `at`
/// prefixes field names in errors (`batch[3].`).
pub(crate) fn to_event(
    call: Call,
    msg: &Map,
    write_key: &str,
    envelope: &Envelope<'_>,
    at: &str,
) -> Result<NewEvent, ApiError> {
    let name = event_name(call, msg, at)?;
    let properties = properties_of(msg, at)?;
    let user = id(msg, "userId", at)?;
    let anonymous = id(msg, "anonymousId", at)?;
    let mut context = object(msg, "context", at)?;
    let timestamp = timestamp_of(msg, envelope, &mut context, at)?;
    // With a user id, the anonymous id is kept in the context.
    let linked = if user.is_some() {
        anonymous.as_deref()
    } else {
        None
    };
    fill_context(&mut context, msg, envelope, linked);
    let mut event = NewEvent::new(name, write_key)
        .properties(properties)
        .context(context);
    if let Some(profile) = user.or(anonymous) {
        event = event.profile(profile);
    }
    if let Some(m) = id(msg, "messageId", at)? {
        event = event.message_id(m);
    }
    if let Some(ts) = timestamp {
        event = event.timestamp_ms(ts);
    }
    Ok(event)
}

/// The stored event name: a track call's `event`, the guideline name otherwise.
fn event_name(call: Call, msg: &Map, at: &str) -> Result<String, ApiError> {
    if call != Call::Track {
        return Ok(call.event_name().to_owned());
    }
    match msg.get("event") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(ApiError::invalid(
            format!("{at}event"),
            "missing: a track call needs an event name",
        )),
        Some(other) => Err(ApiError::invalid(
            format!("{at}event"),
            format!("expected a string, found {}", other.type_name()),
        )),
    }
}

/// `properties`, plus the call's own fields under their snake_case names.
fn properties_of(msg: &Map, at: &str) -> Result<Map, ApiError> {
    let mut properties = object(msg, "properties", at)?;
    for (from, to) in [
        ("name", "name"),
        ("category", "category"),
        ("groupId", "group_id"),
        ("previousId", "previous_id"),
        ("traits", "traits"),
    ] {
        if let Some(v) = msg.get(from)
            && *v != Value::Null
            && !properties.contains_key(to)
        {
            properties.insert(to, v.clone());
        }
    }
    Ok(properties)
}

/// The event time with Segment's clock-skew correction: received - (sentAt -
/// originalTimestamp). The client's values are kept in the context.
fn timestamp_of(
    msg: &Map,
    envelope: &Envelope<'_>,
    context: &mut Map,
    at: &str,
) -> Result<Option<i64>, ApiError> {
    let original_field = if msg.contains_key("originalTimestamp") {
        "originalTimestamp"
    } else {
        "timestamp"
    };
    let original_value = msg.get(original_field);
    let original = time(original_value, &format!("{at}{original_field}"))?;
    let sent_value = msg.get("sentAt").or(envelope.sent_at);
    let sent = time(sent_value, &format!("{at}sentAt"))?;
    if original_field == "originalTimestamp"
        && let Some(t) = msg.get("timestamp")
        && !context.contains_key("timestamp")
    {
        context.insert("timestamp", t.clone());
    }
    if let Some(v) = sent_value {
        context.insert("sent_at", v.clone());
    }
    let (Some(original), Some(sent)) = (original, sent) else {
        return Ok(original);
    };
    if let Some(v) = original_value {
        context.insert("original_timestamp", v.clone());
    }
    sent.checked_sub(original)
        .and_then(|skew| envelope.received_ms.checked_sub(skew))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                format!("{at}{original_field}"),
                "too far from sentAt: the clock-skew correction overflows",
            )
        })
}

/// The batch context (the message's own keys win), the batch's other fields,
/// the anonymous id when the profile is the user id, every field not mapped
/// elsewhere, and the request's user agent and IP.
fn fill_context(context: &mut Map, msg: &Map, envelope: &Envelope<'_>, anonymous: Option<&str>) {
    if let Some(batch) = envelope.context {
        for (k, v) in batch.iter() {
            if !context.contains_key(k) {
                context.insert(k, v.clone());
            }
        }
    }
    if !envelope.batch_fields.is_empty() && !context.contains_key("batch") {
        context.insert("batch", Value::Object(envelope.batch_fields.clone()));
    }
    for (key, value) in envelope.defaults.fields() {
        if let Some(v) = value
            && !context.contains_key(key)
        {
            context.insert(key, v);
        }
    }
    if let Some(a) = anonymous
        && !context.contains_key("anonymous_id")
    {
        context.insert("anonymous_id", a);
    }
    for (k, v) in msg.iter() {
        if !MAPPED.contains(&k) && !context.contains_key(k) {
            context.insert(k, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(text: &str) -> Map {
        match Value::from_json(text) {
            Ok(Value::Object(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    /// The event as the JSON fields the tests look at.
    fn convert(call: Call, msg: &str, envelope: &Envelope<'_>) -> serde_json::Value {
        let e = to_event(call, &obj(msg), "wk", envelope, "").unwrap();
        serde_json::json!({
            "event": e.name(),
            "profile_id": e.profile_id,
            "timestamp": e.timestamp_ms,
            "properties": serde_json::from_str::<serde_json::Value>(&e.properties.to_json()).unwrap(),
            "context": serde_json::from_str::<serde_json::Value>(&e.context.to_json()).unwrap(),
        })
    }

    #[test]
    fn clock_skew_is_corrected() {
        // The client clock runs 1 h ahead: sent at 11:00:10 by its clock, the
        // event happened 10 s before; the server received it at 10:00:10.
        let sent = Value::from("2024-05-01T11:00:10Z");
        let received = parse_rfc3339("2024-05-01T10:00:10Z").unwrap();
        let env = Envelope {
            sent_at: Some(&sent),
            received_ms: received,
            ..Envelope::default()
        };
        let p = convert(
            Call::Track,
            r#"{"event":"Order Completed","timestamp":"2024-05-01T11:00:00Z"}"#,
            &env,
        );
        assert_eq!(p["timestamp"], serde_json::json!(received - 10_000));
        assert_eq!(p["context"]["original_timestamp"], "2024-05-01T11:00:00Z");
        assert_eq!(p["context"]["sent_at"], "2024-05-01T11:00:10Z");
    }

    #[test]
    fn sent_at_without_a_timestamp_is_kept() {
        let sent = Value::from("2024-05-01T11:00:10Z");
        let env = Envelope {
            sent_at: Some(&sent),
            ..Envelope::default()
        };
        let p = convert(Call::Track, r#"{"event":"Order Completed"}"#, &env);
        assert_eq!(p["context"]["sent_at"], "2024-05-01T11:00:10Z");
        assert_eq!(p["timestamp"], serde_json::Value::Null);
    }

    #[test]
    fn non_track_calls_keep_their_fields() {
        let env = Envelope::default();
        let p = convert(
            Call::Group,
            r#"{"userId":"u1","anonymousId":"a1","groupId":"g7","traits":{"plan":"team"},"integrations":{"All":true}}"#,
            &env,
        );
        assert_eq!(p["event"], "Group Identified");
        assert_eq!(p["profile_id"], "u1");
        assert_eq!(p["properties"]["group_id"], "g7");
        assert_eq!(p["properties"]["traits"]["plan"], "team");
        assert_eq!(p["context"]["anonymous_id"], "a1");
        assert_eq!(p["context"]["integrations"]["All"], true);
        let p = convert(Call::Alias, r#"{"userId":"u1","previousId":"a1"}"#, &env);
        assert_eq!(
            (p["event"].as_str(), p["properties"]["previous_id"].as_str()),
            (Some("Profile Aliased"), Some("a1"))
        );
    }

    #[test]
    fn batch_context_merges_under_the_message() {
        let batch = obj(r#"{"ip":"1.2.3.4","locale":"de-DE"}"#);
        let fields = obj(r#"{"timestamp":"2025-03-03T10:00:00Z"}"#);
        let env = Envelope {
            context: Some(&batch),
            batch_fields: fields,
            defaults: ContextDefaults {
                user_agent: Some("curl/8"),
                ip: Some("192.0.2.1"),
            },
            ..Envelope::default()
        };
        let p = convert(
            Call::Page,
            r#"{"anonymousId":"a","name":"Home","context":{"locale":"en-US"}}"#,
            &env,
        );
        assert_eq!(p["context"]["ip"], "1.2.3.4", "the client's own ip wins");
        assert_eq!(p["context"]["userAgent"], "curl/8");
        assert_eq!(p["context"]["batch"]["timestamp"], "2025-03-03T10:00:00Z");
        assert_eq!(p["context"]["locale"], "en-US");
        assert_eq!(p["properties"]["name"], "Home");
        assert_eq!(p["profile_id"], "a");
    }

    #[test]
    fn errors_name_the_field() {
        let env = Envelope::default();
        let e = to_event(
            Call::Track,
            &obj(r#"{"userId":"u"}"#),
            "wk",
            &env,
            "batch[2].",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("batch[2].event"));
        let e = to_event(
            Call::Track,
            &obj(r#"{"event":"A B","properties":[1]}"#),
            "wk",
            &env,
            "",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("properties"));
        let e = to_event(
            Call::Track,
            &obj(r#"{"event":"A B","timestamp":"soon"}"#),
            "wk",
            &env,
            "",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("timestamp"));
    }
}
