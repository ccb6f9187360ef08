//! Firstparty's write endpoints: `POST /events/track` (one payload, write key in
//! the body) and `POST /events/track/bulk` (`[...]` or `{"batch": [...],
//! "write_key": ...}`). A 200 means stored under the store's durability mode.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::AppState;
use super::collect::{stored, with_body};
use super::error::{ApiError, batch_response};

/// `POST /events/track`.
pub(crate) async fn track(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let receipt = with_body(&state, &headers, body, |store, bytes| {
        Ok(store.collect_json(bytes)?)
    })
    .await?;
    Ok(stored(&receipt))
}

/// `POST /events/track/bulk`.
pub(crate) async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let outcomes = with_body(&state, &headers, body, |store, bytes| {
        Ok(store.collect_batch_json(bytes)?)
    })
    .await?;
    Ok(batch_response(
        outcomes
            .into_iter()
            .map(|o| o.map_err(ApiError::from))
            .collect(),
    ))
}
