//! HTTP errors: every failure is a precise status with a JSON body
//! `{"error": CODE, "code": CODE, "status": N, "message": TEXT, "field": FIELD?}`,
//! and every per-event outcome of a batch uses the same shape. Store errors map
//! to statuses by their [`ErrorKind`], exhaustively.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Error, ErrorKind, Receipt};

/// An error response.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// 400 for an invalid `field`.
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_event",
            message: format!("{field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// 400 for a bad query parameter.
    pub(crate) fn parameter(name: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            field: Some(name.to_owned()),
            message: format!("{name}: {}", message.into()),
        }
    }

    /// The error as JSON.
    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({
            "error": self.code,
            // The same, under the name Segment's SDKs read.
            "code": self.code,
            "status": self.status.as_u16(),
            "message": self.message,
        });
        if let Some(field) = &self.field {
            body["field"] = Value::from(field.as_str());
        }
        body
    }

    /// The response for a store error. A payload without a write key is 401
    /// `missing_write_key` (as the Segment endpoints answer), not a 400.
    pub(crate) fn of(e: &Error) -> Self {
        if e.kind() == ErrorKind::InvalidInput && e.field() == Some("write_key") {
            return ApiError::missing_write_key(&e.to_string());
        }
        ApiError {
            status: status_of(e.kind()),
            code: e.code(),
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

impl ApiError {
    /// 401 `missing_write_key`.
    pub(crate) fn missing_write_key(detail: &str) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_write_key",
            format!(
                "no usable write key ({detail}): send write_key in the payload, or for the \
                 Segment endpoints the HTTP Basic username (empty password) or writeKey"
            ),
        )
    }
}

/// The HTTP status of each kind of store error.
pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::RetryLater | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal | ErrorKind::Corrupt | ErrorKind::Io => {
            StatusCode::INTERNAL_SERVER_ERROR
        } // `ErrorKind` is non-exhaustive for other crates only; this match is
          // exhaustive, so a new kind fails to compile here until it is mapped.
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, Json(self.to_json())).into_response();
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::of(&e)
    }
}

/// The error code of a status that the HTTP stack (axum's routing and
/// extractors, hyper's parser) produced on its own.
fn code_of_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        411 => "length_required",
        413 => "too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "too_many_requests",
        431 => "headers_too_large",
        501 => "not_implemented",
        503 => "unavailable",
        505 => "http_version_not_supported",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The JSON error of a status the HTTP stack produced, with its text (if any)
/// as the message.
pub(crate) fn stack_error(status: StatusCode, text: &str) -> ApiError {
    let text = text.trim();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.to_owned()
    };
    ApiError::new(status, code_of_status(status), message)
}

/// Gives every error response the documented JSON body: those made outside the
/// handlers (axum's 405, an extractor's rejection) come with plain text. Other
/// headers (`Allow`, CORS) are kept.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut json = stack_error(status, &text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name, value.clone());
        }
    }
    json
}

/// A whole HTTP/1.1 response, bytes ready to write, with the JSON error of
/// `status` and `Connection: close`: what the server sends in place of the
/// empty-bodied answers hyper writes for requests it cannot parse (400, 431).
pub(crate) fn raw_error_response(status: StatusCode) -> Vec<u8> {
    let body = stack_error(status, "").to_json().to_string();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

/// The JSON of a stored (or deduplicated, or dropped) event.
pub(crate) fn receipt_json(receipt: &Receipt) -> Value {
    let mut body = json!({
        "status": 200,
        "seq": receipt.seq,
        "source_id": receipt.source.0,
        "duplicate": receipt.duplicate,
    });
    if let Some(rule) = &receipt.dropped_by {
        body["dropped_by"] = Value::from(rule.as_str());
    }
    if receipt.suppressed {
        body["suppressed"] = Value::Bool(true);
    }
    if let Some(w) = &receipt.naming {
        body["naming_warning"] = json!({
            "name": w.name,
            "violations": w.describe(),
            "suggestion": w.suggestion,
        });
    }
    body
}

/// The response to a batch: 200 with one outcome per event when any was stored
/// (or the batch was empty); when none was, the status of the failures (400 if
/// they differ), so a client that never looks at the outcomes still learns that
/// nothing was stored. The body is `{"success", "accepted", "rejected", "results"}`.
pub(crate) fn batch_response(outcomes: Vec<Result<Receipt, ApiError>>) -> Response {
    let mut accepted = 0u64;
    let mut failed: Option<StatusCode> = None;
    let mut mixed = false;
    let mut results = Vec::with_capacity(outcomes.len());
    for (index, outcome) in outcomes.iter().enumerate() {
        let mut item = match outcome {
            Ok(r) => {
                accepted += 1;
                receipt_json(r)
            }
            Err(e) => {
                mixed |= failed.is_some_and(|s| s != e.status);
                failed.get_or_insert(e.status);
                e.to_json()
            }
        };
        item["index"] = Value::from(index);
        results.push(item);
    }
    let rejected = outcomes.len() as u64 - accepted;
    let status = match failed {
        Some(_) if accepted > 0 => StatusCode::OK,
        Some(_) if mixed => StatusCode::BAD_REQUEST,
        Some(status) => status,
        None => StatusCode::OK,
    };
    let body = json!({
        "success": rejected == 0,
        "accepted": accepted,
        "rejected": rejected,
        "results": results,
    });
    (status, Json(body)).into_response()
}
