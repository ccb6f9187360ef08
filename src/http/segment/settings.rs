//! `GET /v1/projects/{writeKey}/settings`: what @segment/analytics-next fetches
//! first from its `cdnURL`. The answer points the SDK back at this server
//! (`apiHost` = the host the client used, the path prefix, `/v1`; `protocol`
//! its scheme), names only the `Segment.io` integration (any other makes the SDK
//! download destination code) and turns the SDK's metrics off (they would go to
//! Segment). See `tests/browser/CLIENTS.md`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Error;
use crate::http::AppState;
use crate::http::client::Client;
use crate::http::cors::check_origin;
use crate::http::error::ApiError;

/// The SDK fetches the settings on every page load; a short cache helps.
const CACHE_CONTROL: &str = "public, max-age=300";

/// `GET /v1/projects/{writeKey}/settings`.
pub(crate) async fn settings(
    State(state): State<Arc<AppState>>,
    Path(write_key): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    client: Client,
) -> Result<Response, ApiError> {
    let source = state.store.source_by_write_key(&write_key).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_write_key",
            Error::UnknownWriteKey.to_string(),
        )
    })?;
    if !source.is_enabled() {
        return Err(ApiError::of(&Error::SourceDisabled { id: source.id().0 }));
    }
    check_origin(&state.store, &write_key, client.origin.as_deref())?;
    let host = client.host.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "no Host header: the settings name this server by the host the client used",
        )
    })?;
    // The path in front of this route: --path-prefix, or where another app
    // nested the router.
    let prefix = original
        .path()
        .strip_suffix(uri.path())
        .unwrap_or(&state.config.path_prefix);
    let body = json!({
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": format!("{host}{prefix}/v1"),
                "protocol": client.scheme,
            }
        },
        "metrics": {"sampleRate": 0},
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok(response)
}
