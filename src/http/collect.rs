//! What the write endpoints share: running store calls on the blocking pool,
//! reading a (possibly gzipped) body, and the response of a stored event.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::body;
use super::error::{ApiError, receipt_json};
use super::ingest::Prepared;
use crate::{Error, Receipt, Store};

/// Runs `f` on the blocking pool (store calls block: they write and may sync).
pub(crate) async fn blocking<T: Send + 'static>(
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

/// The 200 response of one stored event.
pub(crate) fn stored(receipt: &Receipt) -> Response {
    let mut body = receipt_json(receipt);
    body["success"] = true.into();
    (StatusCode::OK, Json(body)).into_response()
}

/// Reads the (possibly gzipped) body and runs `collect` on its decoded bytes on
/// the blocking pool.
pub(crate) async fn with_body<T: Send + 'static>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    collect: impl FnOnce(&Store, &[u8]) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let limit = state.limits.batch_bytes_max;
    let raw = body::read(headers, body, limit).await?;
    let store = state.store.clone();
    blocking(move || {
        let bytes = raw.decode(limit)?;
        collect(&store, &bytes)
    })
    .await
}

/// Reads the (possibly gzipped) body of a single-event request and collects
/// the event `prepare` makes of its decoded bytes in the next group
/// ([`Ingest`](super::ingest::Ingest)).
pub(crate) async fn single_event(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    prepare: impl FnOnce(&Store, Bytes) -> Result<Prepared, ApiError> + Send + 'static,
) -> Result<Receipt, ApiError> {
    let limit = state.limits.batch_bytes_max;
    let raw = body::read(headers, body, limit).await?;
    state
        .ingest
        .submit(Box::new(move |store| prepare(store, raw.decode(limit)?)))
        .await
}

/// A store error as an API error, keeping the payload in the store's quarantine.
pub(crate) fn refused(store: &Store, payload: &[u8], e: Error) -> ApiError {
    store.quarantine(payload, &e);
    ApiError::of(&e)
}
