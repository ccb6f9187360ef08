//! Write endpoints: Firstparty's `POST /events/track` and `/events/track/bulk`,
//! and Segment's `POST /v1/{track,page,screen,identify,group,alias,batch}`.
//! The store is blocking, so each request's decoding and collection run on
//! tokio's blocking pool. A 200 means stored under the store's durability mode.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use firstlog::time::now_ms;
use firstlog::{Map, Receipt, Store, Value};

use super::AppState;
use super::body::{self, basic_write_key};
use super::error::{ApiError, batch_response, receipt_json};
use super::segment::{Call, Envelope, to_payload};

/// Runs `f` on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the request handler failed: {e}"),
        ))
    })
}

fn stored(receipt: &Receipt) -> Response {
    let mut body = receipt_json(receipt);
    body["success"] = true.into();
    (StatusCode::OK, Json(body)).into_response()
}

/// Reads the (possibly gzipped) body and runs `collect` on its bytes on the
/// blocking pool: the shared path of the Firstparty endpoints.
async fn collect_body<T: Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    collect: impl FnOnce(&Store, &[u8]) -> Result<T, firstlog::Error> + Send + 'static,
) -> Result<T, ApiError> {
    let limit = state.limits.batch_bytes_max;
    let raw = body::read(headers, body, limit).await?;
    let store = state.store.clone();
    blocking(move || {
        let bytes = raw.decode(limit)?;
        Ok(collect(&store, &bytes)?)
    })
    .await
}

/// `POST /events/track`: one Firstparty payload, write key in the body.
pub async fn track(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let receipt = collect_body(&state, &headers, body, |store, bytes| {
        store.collect_json(bytes)
    })
    .await?;
    Ok(stored(&receipt))
}

/// `POST /events/track/bulk`: `[...]` or `{"batch": [...], "write_key": ...}`.
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let outcomes = collect_body(&state, &headers, body, |store, bytes| {
        store.collect_batch_json(bytes)
    })
    .await?;
    Ok(batch_response(
        outcomes
            .into_iter()
            .map(|o| o.map_err(ApiError::from))
            .collect(),
    ))
}

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
        return Err(ApiError::of(&firstlog::Error::UnknownWriteKey));
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
pub async fn segment_single(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    call: Call,
) -> Result<Response, ApiError> {
    let limit = state.limits.batch_bytes_max;
    let raw = body::read(&headers, body, limit).await?;
    let basic = basic_write_key(&headers)?;
    let store = state.store.clone();
    let receipt = blocking(move || {
        let msg = parse_object(&raw.decode(limit)?)?;
        let key = authenticate(&store, basic, &msg)?.ok_or_else(missing_key)?;
        let envelope = Envelope {
            context: None,
            sent_at: None,
            received_ms: now_ms(),
        };
        let payload = to_payload(call, &msg, &key, &envelope, "")?;
        Ok(store.collect_json(&payload)?)
    })
    .await?;
    Ok(stored(&receipt))
}

/// `POST /v1/batch` (and `/v1/import`): `{"batch": [...], "context", "sentAt",
/// "writeKey"}`; one outcome per message.
pub async fn segment_batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = state.limits;
    let raw = body::read(&headers, body, limits.batch_bytes_max).await?;
    let basic = basic_write_key(&headers)?;
    let store = state.store.clone();
    let outcomes = blocking(move || {
        let root = parse_object(&raw.decode(limits.batch_bytes_max)?)?;
        let batch_key = authenticate(&store, basic, &root)?;
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
        if batch_key.is_none() && !items.is_empty() && !items.iter().any(own_key) {
            return Err(missing_key());
        }
        if items.len() > limits.batch_events_max {
            return Err(ApiError::invalid(
                "batch",
                format!(
                    "{} messages; the limit is {}",
                    items.len(),
                    limits.batch_events_max
                ),
            ));
        }
        let context = match root.get("context") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m),
            Some(other) => {
                return Err(ApiError::invalid(
                    "context",
                    format!("expected an object, found {}", other.type_name()),
                ));
            }
        };
        let envelope = Envelope {
            context,
            sent_at: root.get("sentAt"),
            received_ms: now_ms(),
        };
        let payloads = items
            .iter()
            .enumerate()
            .map(|(i, item)| convert_item(&store, i, item, batch_key.as_deref(), &envelope))
            .collect();
        Ok(collect_payloads(
            &store,
            payloads,
            limits.batch_bytes_max * 9 / 10,
        ))
    })
    .await?;
    Ok(batch_response(outcomes))
}

/// One batch message -> a Firstparty payload.
fn convert_item(
    store: &Store,
    i: usize,
    item: &Value,
    batch_key: Option<&str>,
    envelope: &Envelope<'_>,
) -> Result<Vec<u8>, ApiError> {
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
                    return Err(ApiError::of(&firstlog::Error::UnknownWriteKey));
                }
                k.clone()
            }
            _ => return Err(missing_key()),
        },
    };
    to_payload(call, msg, &key, envelope, &at)
}

/// Collects converted payloads in batch requests under `chunk_bytes`; returns
/// one outcome per payload, in order.
fn collect_payloads(
    store: &Store,
    payloads: Vec<Result<Vec<u8>, ApiError>>,
    chunk_bytes: usize,
) -> Vec<Result<Receipt, ApiError>> {
    let mut outcomes: Vec<Option<Result<Receipt, ApiError>>> = Vec::with_capacity(payloads.len());
    let mut chunk: Vec<u8> = Vec::new();
    let mut members: Vec<usize> = Vec::new();
    let flush = |chunk: &mut Vec<u8>,
                 members: &mut Vec<usize>,
                 outcomes: &mut Vec<Option<Result<Receipt, ApiError>>>| {
        if members.is_empty() {
            return;
        }
        chunk.push(b']');
        match store.collect_batch_json(chunk) {
            Ok(results) => {
                for (&i, r) in members.iter().zip(results) {
                    outcomes[i] = Some(r.map_err(ApiError::from));
                }
            }
            Err(e) => {
                for &i in members.iter() {
                    outcomes[i] = Some(Err(ApiError::of(&e)));
                }
            }
        }
        chunk.clear();
        members.clear();
    };
    for (i, payload) in payloads.into_iter().enumerate() {
        outcomes.push(None);
        match payload {
            Err(e) => outcomes[i] = Some(Err(e)),
            Ok(p) => {
                if !members.is_empty() && chunk.len() + p.len() + 2 > chunk_bytes {
                    flush(&mut chunk, &mut members, &mut outcomes);
                }
                chunk.push(if members.is_empty() { b'[' } else { b',' });
                chunk.extend_from_slice(&p);
                members.push(i);
            }
        }
    }
    flush(&mut chunk, &mut members, &mut outcomes);
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "no outcome",
                ))
            })
        })
        .collect()
}
