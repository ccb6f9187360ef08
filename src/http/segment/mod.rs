//! Segment's write endpoints: `POST /v1/{track,page,screen,identify,group,alias}`
//! (and analytics-next's short paths `/v1/{t,p,s,i,g,a}`), `/v1/batch` (aliases
//! `/v1/import`, `/v1/b`), and the settings analytics-next fetches first
//! ([`settings`]). The write key is the HTTP Basic username or `writeKey` in the
//! body; messages are translated into events ([`translate`]) and collected as a
//! batch.

mod settings;
mod translate;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::AppState;
use super::body::basic_write_key;
use super::client::Client;
use super::collect::{refused, single_event, stored, with_body};
use super::cors::check_origin;
use super::error::{ApiError, batch_response};
use super::ingest::Prepared;
use crate::time::now_ms;
use crate::{Map, NewEvent, Receipt, Store, Value};
pub(crate) use settings::settings;
pub(crate) use translate::Call;
use translate::{Envelope, to_event};

/// Parses a request body into a JSON object.
fn parse_object(bytes: &[u8]) -> Result<Map, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::invalid("json", format!("not UTF-8: {e}")))?;
    match Value::from_json(text)? {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(
            "json",
            format!("expected an object, found {}", other.type_name()),
        )),
    }
}

/// The write key of a Segment request: the Basic username, else `writeKey` in
/// the body. An unknown key is refused before anything else (401), then a page
/// origin its source does not allow (403).
fn authenticate(
    store: &Store,
    basic: Option<String>,
    body: &Map,
    origin: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let key = match basic {
        Some(key) => Some(key),
        None => match body.get("writeKey") {
            Some(Value::String(k)) if !k.is_empty() => Some(k.clone()),
            _ => None,
        },
    };
    if let Some(k) = &key
        && store.source_by_write_key(k).is_none()
    {
        return Err(ApiError::of(&crate::Error::UnknownWriteKey));
    }
    if let Some(k) = &key {
        check_origin(store, k, origin)?;
    }
    Ok(key)
}

fn missing_key() -> ApiError {
    ApiError::missing_write_key("none in the Authorization header or the body")
}

/// The envelope of a request: when it arrived, and who sent it.
fn envelope_of(client: &Client) -> Envelope<'_> {
    Envelope {
        received_ms: now_ms(),
        defaults: client.context_defaults(),
        ..Envelope::default()
    }
}

/// `POST /v1/track|page|screen|identify|group|alias`.
pub(crate) async fn single(
    state: Arc<AppState>,
    client: Client,
    headers: HeaderMap,
    body: Body,
    call: Call,
) -> Result<Response, ApiError> {
    let basic = basic_write_key(&headers)?;
    let receipt = single_event(&state, &headers, body, move |store, bytes| {
        let msg = parse_object(&bytes)?;
        let origin = client.origin.as_deref();
        let key = authenticate(store, basic, &msg, origin)?.ok_or_else(missing_key)?;
        let envelope = envelope_of(&client);
        let event = to_event(call, &msg, &key, &envelope, "")?;
        Ok(Prepared::Event(event, bytes))
    })
    .await?;
    Ok(stored(&receipt))
}

/// The top-level fields of a batch request that are not mapped elsewhere.
const BATCH_MAPPED: &[&str] = &["batch", "context", "sentAt", "writeKey"];

/// `POST /v1/batch` (and `/v1/import`, `/v1/b`): `{"batch": [...], "context",
/// "sentAt", "writeKey", ...}`; one outcome per message.
pub(crate) async fn batch(
    State(state): State<Arc<AppState>>,
    client: Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let basic = basic_write_key(&headers)?;
    let limits = state.limits;
    let outcomes = with_body(&state, &headers, body, move |store, bytes| {
        let root = parse_object(bytes)?;
        let origin = client.origin.as_deref();
        let batch_key = authenticate(store, basic, &root, origin)?;
        let items = batch_items(&root, batch_key.is_some(), limits.batch_events_max)?;
        let mut envelope = envelope_of(&client);
        envelope.context = batch_context(&root)?;
        envelope.sent_at = root.get("sentAt");
        for (k, v) in root.iter().filter(|(k, _)| !BATCH_MAPPED.contains(k)) {
            envelope.batch_fields.insert(k, v.clone());
        }
        let events = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                convert_item(store, i, item, (batch_key.as_deref(), origin), &envelope)
            })
            .collect();
        Ok(collect_events(store, items, events))
    })
    .await?;
    Ok(batch_response(outcomes))
}

/// The messages of a batch request, checked for a write key and the size limit.
fn batch_items(root: &Map, has_key: bool, max: usize) -> Result<&[Value], ApiError> {
    let items = match root.get("batch") {
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ApiError::invalid(
                "batch",
                format!("expected an array, found {}", other.type_name()),
            ));
        }
        None => return Err(ApiError::invalid("batch", "missing")),
    };
    let own_key = |item: &Value| {
        item.as_object()
            .and_then(|m| m.get("writeKey"))
            .is_some_and(|k| k.as_str().is_some_and(|k| !k.is_empty()))
    };
    if !has_key && !items.is_empty() && !items.iter().any(own_key) {
        return Err(missing_key());
    }
    if items.len() > max {
        return Err(ApiError::invalid(
            "batch",
            format!("{} messages; the limit is {max}", items.len()),
        ));
    }
    Ok(items)
}

/// The batch-level `context`, merged into every message's.
fn batch_context(root: &Map) -> Result<Option<&Map>, ApiError> {
    match root.get("context") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(ApiError::invalid(
            "context",
            format!("expected an object, found {}", other.type_name()),
        )),
    }
}

/// One batch message -> an event. `(batch_key, origin)`: the request's write
/// key if any, and the page origin it came from.
fn convert_item(
    store: &Store,
    i: usize,
    item: &Value,
    (batch_key, origin): (Option<&str>, Option<&str>),
    envelope: &Envelope<'_>,
) -> Result<NewEvent, ApiError> {
    let at = format!("batch[{i}].");
    let Value::Object(msg) = item else {
        return Err(ApiError::invalid(
            format!("batch[{i}]"),
            "expected an object",
        ));
    };
    let call = match msg.get("type") {
        Some(Value::String(t)) => Call::from_type(t).ok_or_else(|| {
            ApiError::invalid(
                format!("{at}type"),
                format!("{t:?} is not one of track, page, screen, identify, group, alias"),
            )
        })?,
        _ => return Err(ApiError::invalid(format!("{at}type"), "missing")),
    };
    let key = match batch_key {
        Some(k) => k.to_owned(),
        None => match msg.get("writeKey") {
            Some(Value::String(k)) if !k.is_empty() => {
                if store.source_by_write_key(k).is_none() {
                    return Err(ApiError::of(&crate::Error::UnknownWriteKey));
                }
                check_origin(store, k, origin)?;
                k.clone()
            }
            _ => return Err(missing_key()),
        },
    };
    to_event(call, msg, &key, envelope, &at)
}

/// Collects the converted events as one batch; one outcome per message, in
/// order. Refused messages are kept in the quarantine.
fn collect_events(
    store: &Store,
    items: &[Value],
    events: Vec<Result<NewEvent, ApiError>>,
) -> Vec<Result<Receipt, ApiError>> {
    let mut positions = Vec::with_capacity(events.len());
    let mut valid = Vec::with_capacity(events.len());
    let mut outcomes: Vec<Result<Receipt, ApiError>> = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        match event {
            Ok(e) => {
                positions.push(i);
                valid.push(e);
                outcomes.push(Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "no outcome",
                )));
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    let quarantine = |i: usize, e: crate::Error| refused(store, items[i].to_json().as_bytes(), e);
    match store.collect_batch(valid) {
        Ok(results) => {
            for (&i, result) in positions.iter().zip(results) {
                outcomes[i] = result.map_err(|e| quarantine(i, e));
            }
        }
        Err(e) => {
            for &i in &positions {
                outcomes[i] = Err(ApiError::of(&e));
            }
        }
    }
    outcomes
}
