//! CORS, so that web pages on other origins can send events (CLIENTS.md in
//! `tests/browser` says what the browser SDKs need):
//!
//! - write endpoints (and the tracker, the settings, unknown paths): any origin.
//!   A preflight (`OPTIONS`) gets 204 with the request's origin echoed, the
//!   methods, the headers the SDKs send and a max age; every response, errors
//!   included, carries `Access-Control-Allow-Origin` (the request's origin, with
//!   `Access-Control-Allow-Credentials: true`, since `sendBeacon` sends
//!   credentials; `*` without an `Origin`) and exposes `Retry-After`. A source
//!   that restricts its origins refuses others in the handlers (403
//!   `origin_not_allowed`), as the preflight does not carry the write key.
//! - read endpoints: no cross-origin access, unless the request's origin is the
//!   one `HttpConfig::read_cors_origin` names.
//! - `/healthz`, `/readyz`, the console (`/`, `/console/*`): no CORS headers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;

const ALLOW_METHODS: &str = "POST, GET, OPTIONS";
/// The headers the SDKs send (analytics-next: `Authorization`, on retries
/// `X-Retry-Count`). Listed: `*` does not cover `Authorization`.
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Content-Encoding, X-Retry-Count";
/// Chrome's cap on the preflight cache.
const MAX_AGE_SECS: &str = "7200";

/// Which CORS policy a path gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Write,
    Read,
    None,
}

fn policy_of(path: &str) -> Policy {
    let read = path == "/v1/sources"
        || path.starts_with("/v1/sources/")
        || path == "/v1/erasures"
        || path.starts_with("/v1/erasures/")
        || matches!(path, "/v1/stats" | "/v1/rejected" | "/v1/retention");
    if read {
        Policy::Read
    } else if path == "/healthz"
        || path == "/readyz"
        || path == "/"
        || path.starts_with("/console/")
    {
        Policy::None
    } else {
        Policy::Write
    }
}

/// The origin a response may name: the request's for writes; for reads only
/// the configured one. `None`: no CORS headers.
fn allowed_origin(state: &AppState, policy: Policy, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN);
    match policy {
        Policy::Write => Some(origin.cloned().unwrap_or(HeaderValue::from_static("*"))),
        Policy::Read => {
            let wanted = state.config.read_cors_origin.as_deref()?;
            origin
                .filter(|o| o.as_bytes() == wanted.as_bytes())
                .cloned()
        }
        Policy::None => None,
    }
}

/// The CORS layer (see the module docs).
pub(crate) async fn cors(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let policy = policy_of(request.uri().path());
    let allowed = allowed_origin(&state, policy, request.headers());
    if request.method() == Method::OPTIONS && policy != Policy::None {
        return preflight(allowed);
    }
    let mut response = next.run(request).await;
    if let Some(origin) = allowed {
        add_headers(response.headers_mut(), origin);
    }
    response
}

fn preflight(allowed: Option<HeaderValue>) -> Response {
    let Some(origin) = allowed else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "cross-origin reads are off for this origin (see serve --read-cors-origin)",
        )
        .into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOW_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECS),
    );
    add_headers(headers, origin);
    response
}

fn add_headers(headers: &mut HeaderMap, origin: HeaderValue) {
    if origin != "*" {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Retry-After"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Refuses a request whose `Origin` the source of `write_key` does not allow
/// (403 `origin_not_allowed`). No `Origin` (not a browser), an unknown key or a
/// source allowing any origin: allowed (the key is checked elsewhere).
pub(crate) fn check_origin(
    store: &crate::Store,
    write_key: &str,
    origin: Option<&str>,
) -> Result<(), ApiError> {
    let Some(origin) = origin else {
        return Ok(());
    };
    let Some(source) = store.source_by_write_key(write_key) else {
        return Ok(());
    };
    let allowed = source.allowed_origins();
    if allowed.is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!(
            "source {} does not take events from pages on {origin} (allowed: {}; see \
             `firstlog source set-origins`)",
            source.id().0,
            allowed.join(", ")
        ),
    ))
}
