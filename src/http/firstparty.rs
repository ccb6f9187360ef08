//! Firstparty's write endpoints: `POST /events/track` (one payload, write key in
//! the body) and `POST /events/track/bulk` (`[...]` or `{"batch": [...],
//! "write_key": ...}`). A 200 means stored under the store's durability mode.
//! Payloads are stored as sent, plus the request's User-Agent and the client's
//! IP in `context.userAgent` and `context.ip` when the payload set none (as the
//! Segment endpoints do; `serve --no-client-ip` stores no IP).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::AppState;
use super::client::Client;
use super::collect::{single_event, stored, with_body};
use super::cors::check_origin;
use super::error::{ApiError, batch_response};
use super::ingest::{ClientContext, Prepared};
use crate::Store;

/// `POST /events/track`.
pub(crate) async fn track(
    State(state): State<Arc<AppState>>,
    client: Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let receipt = single_event(&state, &headers, body, move |store, bytes| {
        check_origins(store, &bytes, client.origin.as_deref(), false)?;
        let context = ClientContext {
            user_agent: client.user_agent,
            ip: client.ip,
        };
        Ok(Prepared::Json(bytes, context))
    })
    .await?;
    Ok(stored(&receipt))
}

/// `POST /events/track/bulk`.
pub(crate) async fn bulk(
    State(state): State<Arc<AppState>>,
    client: Client,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let outcomes = with_body(&state, &headers, body, move |store, bytes| {
        check_origins(store, bytes, client.origin.as_deref(), true)?;
        Ok(store.collect_batch_json_with(bytes, client.context_defaults())?)
    })
    .await?;
    Ok(batch_response(
        outcomes
            .into_iter()
            .map(|o| o.map_err(ApiError::from))
            .collect(),
    ))
}

/// Just the write key of a payload.
#[derive(Deserialize)]
struct Keyed {
    #[serde(default)]
    write_key: Option<String>,
}

/// Just the write keys of a bulk request.
#[derive(Deserialize)]
#[serde(untagged)]
enum BulkKeys {
    Items(Vec<Keyed>),
    Wrapped {
        #[serde(default)]
        write_key: Option<String>,
        #[serde(default)]
        batch: Vec<Keyed>,
    },
}

/// A request from a web page (`origin`) is refused whole (403) when the source
/// of any write key in it does not allow that origin. Bodies that do not parse
/// are left to the store, which says what is wrong with them.
fn check_origins(
    store: &Store,
    bytes: &[u8],
    origin: Option<&str>,
    bulk: bool,
) -> Result<(), ApiError> {
    if origin.is_none() {
        return Ok(());
    }
    let mut keys: Vec<String> = if bulk {
        match serde_json::from_slice::<BulkKeys>(bytes) {
            Ok(BulkKeys::Items(items)) => items.into_iter().filter_map(|k| k.write_key).collect(),
            Ok(BulkKeys::Wrapped { write_key, batch }) => write_key
                .into_iter()
                .chain(batch.into_iter().filter_map(|k| k.write_key))
                .collect(),
            Err(_) => Vec::new(),
        }
    } else {
        serde_json::from_slice::<Keyed>(bytes)
            .ok()
            .and_then(|k| k.write_key)
            .into_iter()
            .collect()
    };
    keys.sort_unstable();
    keys.dedup();
    keys.iter()
        .try_for_each(|key| check_origin(store, key, origin))
}
