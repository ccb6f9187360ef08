//! Erasure requests over HTTP, behind the read token: `POST /v1/erasures`
//! (202 with the request once it is durable: from then on no read returns the
//! profile's events; the maintenance pass removes their bytes in the
//! background), `GET /v1/erasures` and `GET /v1/erasures/{id}` (where each
//! request stands).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::body;
use super::error::ApiError;
use super::reads::{authorize, read_blocking};
use crate::{Scope, SourceId};

/// The largest request body: a profile id and a list of source ids.
const BODY_BYTES_MAX: usize = 64 << 10;

/// The body of `POST /v1/erasures`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    profile_id: String,
    /// Source ids; omitted (or null) for every source.
    #[serde(default)]
    sources: Option<Vec<u32>>,
    /// Also suppress the profile's new events (Segment's `SUPPRESS_WITH_DELETE`).
    #[serde(default)]
    suppress: bool,
}

fn parse(bytes: &[u8]) -> Result<(String, Scope, bool), ApiError> {
    let request: Request = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(
            "body",
            format!(
                "{e}; expected {{\"profile_id\": ID, \"sources\": [IDS] (optional), \
                 \"suppress\": BOOL (optional)}}"
            ),
        )
    })?;
    let scope = match request.sources {
        None => Scope::All,
        Some(ids) if ids.is_empty() => {
            return Err(ApiError::invalid(
                "sources",
                "name at least one source id, or leave sources out for every source",
            ));
        }
        Some(ids) => Scope::Sources(ids.into_iter().map(SourceId).collect()),
    };
    Ok((request.profile_id, scope, request.suppress))
}

/// `POST /v1/erasures`.
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let bytes = body::read(&headers, body, BODY_BYTES_MAX)
        .await?
        .decode(BODY_BYTES_MAX)?;
    let (profile_id, scope, suppress) = parse(&bytes)?;
    let store = state.store.clone();
    let erasure = read_blocking(&state, move || {
        let asked = if suppress {
            store.erase_and_suppress_profile(&profile_id, scope)
        } else {
            store.erase_profile(&profile_id, scope)
        };
        Ok(asked?)
    })
    .await?;
    let location = format!("{}/v1/erasures/{}", state.config.path_prefix, erasure.id);
    let mut response = (StatusCode::ACCEPTED, Json(erasure)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /v1/erasures`: every request, oldest first.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let erasures = state.store.erasures();
    Ok(Json(json!({ "erasures": erasures })).into_response())
}

/// `GET /v1/erasures/{id}`.
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::parameter("id", format!("{id:?} is not an erasure id")))?;
    let erasure = state.store.erasure(id)?;
    Ok(Json(erasure).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        let (id, scope, suppress) = parse(br#"{"profile_id": "u-1"}"#).unwrap();
        assert_eq!((id.as_str(), suppress), ("u-1", false));
        assert!(matches!(scope, Scope::All));
        let (_, scope, suppress) =
            parse(br#"{"profile_id": "u-1", "sources": [2, 3], "suppress": true}"#).unwrap();
        assert!(suppress);
        assert!(matches!(scope, Scope::Sources(ids) if ids == [SourceId(2), SourceId(3)]));
        assert!(parse(br#"{"profile_id": "u-1", "sources": []}"#).is_err());
        assert!(parse(br#"{"profile": "u-1"}"#).is_err());
        assert!(parse(b"{").is_err());
    }
}
