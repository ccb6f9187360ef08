//! HTTP errors: every failure is a precise status with a JSON body
//! `{"error": CODE, "message": TEXT, "field": FIELD?}`, and every per-event
//! outcome of a batch uses the same shape.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use firstlog::{Error, Receipt};
use serde_json::{Value, json};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// 400 for an invalid `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_event",
            message: format!("{field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// 400 for a bad query parameter.
    pub fn parameter(name: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_parameter",
            field: Some(name.to_owned()),
            message: format!("{name}: {}", message.into()),
        }
    }

    /// The error as JSON.
    pub fn to_json(&self) -> Value {
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.to_json())).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::of(&e)
    }
}

impl ApiError {
    /// The response for a store error.
    pub fn of(e: &Error) -> Self {
        let message = e.to_string();
        let (status, code, field) = match e {
            Error::InvalidEvent { field, .. } => (
                StatusCode::BAD_REQUEST,
                "invalid_event",
                Some(field.clone()),
            ),
            Error::NamingViolation { .. } => (
                StatusCode::BAD_REQUEST,
                "naming_violation",
                Some("event".to_owned()),
            ),
            Error::InvalidArgument { name, .. } => (
                StatusCode::BAD_REQUEST,
                "invalid_argument",
                Some(name.clone()),
            ),
            Error::TooLarge { what, .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                Some((*what).to_owned()),
            ),
            Error::UnknownWriteKey => (StatusCode::UNAUTHORIZED, "unknown_write_key", None),
            Error::SourceDisabled { .. } => (StatusCode::FORBIDDEN, "source_disabled", None),
            Error::UnknownSource { .. } => (StatusCode::NOT_FOUND, "unknown_source", None),
            Error::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "rejected_by_rule", None),
            Error::RulePanicked { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "rule_panicked", None)
            }
            Error::Closed | Error::Poisoned { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", None)
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "store_error", None),
        };
        ApiError {
            status,
            code,
            field,
            message,
        }
    }
}

/// The JSON of a stored (or deduplicated, or dropped) event.
pub fn receipt_json(receipt: &Receipt) -> Value {
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
pub fn batch_response(outcomes: Vec<Result<Receipt, ApiError>>) -> Response {
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
