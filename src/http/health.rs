//! Health checks, public: `GET /healthz` (the process is alive and answering:
//! always 200 `{"status": "ok"}`) and `GET /readyz` (the collector takes
//! events now: 200 `{"status": "ready"}`, else 503 `not_ready` with the reason:
//! `shutting_down`, or the store refusing writes: `poisoned` after a failed
//! write or fsync, `disk_full` (no room for a new segment), `closed`,
//! `read_only`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

/// `GET /healthz`.
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// `GET /readyz`.
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match not_ready_reason(&state) {
        None => Json(serde_json::json!({"status": "ready"})).into_response(),
        Some((reason, message)) => {
            let mut error =
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message).to_json();
            error["reason"] = reason.into();
            let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(error)).into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            response
        }
    }
}

/// Why the collector would not take an event now: `(reason code, message)`.
fn not_ready_reason(state: &AppState) -> Option<(&'static str, String)> {
    if state.shutting_down.load(Ordering::Relaxed) {
        return Some(("shutting_down", "the server is shutting down".to_owned()));
    }
    let readiness = state.store.readiness();
    let reason = readiness.reason?;
    let message = readiness.message.unwrap_or_default();
    Some((reason, format!("the store refuses writes: {message}")))
}
