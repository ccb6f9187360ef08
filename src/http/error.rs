//! HTTP errors: every failure is a precise status with a JSON body
//! `{"error": CODE, "code": CODE, "status": N, "message": TEXT, "field": FIELD?}`,
//! and every per-event outcome of a batch uses the same shape. Store errors map
//! to statuses by their [`ErrorKind`], exhaustively.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
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

    /// The response for a store error.
    pub(crate) fn of(e: &Error) -> Self {
        ApiError {
            status: status_of(e.kind()),
            code: e.code(),
            field: e.field().map(str::to_owned),
            message: e.to_string(),
        }
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
