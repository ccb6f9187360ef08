//! Segment's write endpoints: `POST /v1/{track,page,screen,identify,group,alias}`
//! and `/v1/batch` (alias `/v1/import`). The write key is the HTTP Basic username
//! or `writeKey` in the body; messages are translated into events
//! ([`translate`]) and collected as a batch.

mod translate;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::AppState;
use super::body::basic_write_key;
use super::collect::{refused, stored, with_body};
use super::error::{ApiError, batch_response};
use crate::time::now_ms;
use crate::{Map, NewEvent, Receipt, Store, Value};
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
/// the body. An unknown key is refused before anything else (401).
fn authenticate(
    store: &Store,
    basic: Option<String>,
    body: &Map,
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
    Ok(key)
}

fn missing_key() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "missing_write_key",
        "no write key: send it as the HTTP Basic username (empty password) or as writeKey in the body",
    )
}

/// `POST /v1/track|page|screen|identify|group|alias`.
pub(crate) async fn single(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    call: Call,
) -> Result<Response, ApiError> {
    let basic = basic_write_key(&headers)?;
    let receipt = with_body(&state, &headers, body, move |store, bytes| {
        let msg = parse_object(bytes)?;
        let key = authenticate(store, basic, &msg)?.ok_or_else(missing_key)?;
        let envelope = Envelope {
            context: None,
            sent_at: None,
            received_ms: now_ms(),
        };
        let event = to_event(call, &msg, &key, &envelope, "")?;
        store.collect(event).map_err(|e| refused(store, bytes, e))
    })
    .await?;
    Ok(stored(&receipt))
}

/// `POST /v1/batch` (and `/v1/import`): `{"batch": [...], "context", "sentAt",
/// "writeKey"}`; one outcome per message.
pub(crate) async fn batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let basic = basic_write_key(&headers)?;
    let limits = state.limits;
    let outcomes = with_body(&state, &headers, body, move |store, bytes| {
        let root = parse_object(bytes)?;
        let batch_key = authenticate(store, basic, &root)?;
        let items = batch_items(&root, batch_key.is_some(), limits.batch_events_max)?;
        let envelope = Envelope {
            context: batch_context(&root)?,
            sent_at: root.get("sentAt"),
            received_ms: now_ms(),
        };
        let events = items
            .iter()
            .enumerate()
            .map(|(i, item)| convert_item(store, i, item, batch_key.as_deref(), &envelope))
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

/// One batch message -> an event.
fn convert_item(
    store: &Store,
    i: usize,
    item: &Value,
    batch_key: Option<&str>,
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
