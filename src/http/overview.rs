//! Read endpoints for the console (behind the read token, bounded like the
//! other reads): `GET /v1/sources` and `/v1/sources/{id}` (each source with its
//! write key, tracker snippet, counts, distinct profiles, bytes, events per day
//! and naming warnings), `GET /v1/rejected` (the quarantine), and `GET
//! /v1/retention` (the policy and the log start). Every number comes from the
//! index or the catalog: no event is decoded.

use std::sync::Arc;

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::client::Client;
use super::error::ApiError;
use super::reads::{authorize, bounded_param, read_blocking, source_of};
use super::tracker::snippet;
use crate::query::Bucket;
use crate::{CountBy, Source, SourceStats, Store, check_event_name, format_rfc3339};

/// Days of events per source in `GET /v1/sources`, by default and at most.
const DAYS_DEFAULT: i64 = 14;
const DAYS_MAX: i64 = 90;
/// Rejected payloads per page, by default and at most.
const REJECTED_DEFAULT: usize = 100;
const REJECTED_MAX: usize = 1000;

/// Where the tracker is loaded from, for the snippet: the public origin the
/// client used and the path in front of the router.
struct Origin {
    host: Option<String>,
    prefix: String,
}

impl Origin {
    fn of(state: &AppState, client: &Client, original: &Uri, uri: &Uri) -> Origin {
        let prefix = original
            .path()
            .strip_suffix(uri.path())
            .unwrap_or(&state.config.path_prefix)
            .to_owned();
        Origin {
            host: client
                .host
                .as_ref()
                .map(|h| format!("{}://{h}", client.scheme)),
            prefix,
        }
    }
}

/// The `days` parameter (1 to [`DAYS_MAX`]).
fn days_of(raw: Option<&str>) -> Result<i64, ApiError> {
    bounded_param(raw, "days", DAYS_DEFAULT, 1..=DAYS_MAX)
}

/// The window of days the sparklines cover: `days` days ending with the day of
/// the store's latest event (today for a store collecting now, the demo's last
/// day for the demo), as `[since, until)` in ms.
fn window(stats: &[SourceStats], days: i64) -> (i64, i64) {
    let day = Bucket::Day.millis();
    let latest = stats
        .iter()
        .filter_map(|s| s.last_timestamp_ms)
        .max()
        .unwrap_or_else(crate::time::now_ms);
    let until = latest.div_euclid(day) * day + day;
    (until - days * day, until)
}

/// One source as the console shows it.
fn overview(
    store: &Store,
    source: &Source,
    stats: Option<&SourceStats>,
    (since, until): (i64, i64),
    origin: &Origin,
) -> crate::Result<Value> {
    let id = source.id();
    let by_name = store.query(id).counts(CountBy::Name)?;
    let by_day = store
        .query(id)
        .since(since)
        .until(until)
        .counts(CountBy::Day)?;
    let day = Bucket::Day.millis();
    let mut daily = vec![0u64; ((until - since) / day).max(0) as usize];
    for g in &by_day.groups {
        let slot = g.start_ms.map(|s| (s - since) / day);
        if let Some(n) = slot.and_then(|i| daily.get_mut(usize::try_from(i).ok()?)) {
            *n = g.events;
        }
    }
    let warnings: Vec<Value> = by_name
        .groups
        .iter()
        .filter_map(|g| {
            let name = g.name.as_deref()?;
            let w = check_event_name(name)?;
            Some(json!({
                "name": name,
                "events": g.events,
                "violations": w.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "suggestion": w.suggestion,
            }))
        })
        .collect();
    let time = |ms: Option<i64>| ms.map(format_rfc3339);
    Ok(json!({
        "id": id,
        "name": source.name(),
        "write_key": source.write_key(),
        "enabled": source.is_enabled(),
        "created_at": format_rfc3339(source.created_ms()),
        "allowed_origins": source.allowed_origins(),
        "max_age_secs": source.max_age().map(|d| d.as_secs()),
        "events": by_name.events,
        "profiles": by_name.profiles,
        "names": by_name.groups.len(),
        "bytes": stats.map_or(0, |s| s.bytes),
        "first_seq": stats.and_then(|s| s.first_seq),
        "last_seq": stats.and_then(|s| s.last_seq),
        "first_timestamp": time(stats.and_then(|s| s.first_timestamp_ms)),
        "last_timestamp": time(stats.and_then(|s| s.last_timestamp_ms)),
        "daily": daily,
        "naming_warnings": warnings,
        "snippet": origin.host.as_deref().map(|h| snippet(source.write_key(), h, &origin.prefix)),
    }))
}

/// The sources `ids` (all when `None`) with their overview.
fn overviews(
    store: &Store,
    only: Option<Source>,
    days: i64,
    origin: &Origin,
) -> Result<Value, ApiError> {
    let stats = store.stats();
    let (since, until) = window(&stats.sources, days);
    let sources = match only {
        Some(s) => vec![s],
        None => store.sources(),
    };
    let list = sources
        .iter()
        .map(|s| {
            let st = stats.sources.iter().find(|x| x.source == s.id());
            overview(store, s, st, (since, until), origin)
        })
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(json!({
        "since": format_rfc3339(since),
        "until": format_rfc3339(until),
        "days": days,
        "sources": list,
    }))
}

/// `GET /v1/sources?days=N`.
pub(crate) async fn sources(
    State(state): State<Arc<AppState>>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    client: Client,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let days = days_of(raw.as_deref())?;
    let origin = Origin::of(&state, &client, &original, &uri);
    let store = state.store.clone();
    let body = read_blocking(&state, move || overviews(&store, None, days, &origin)).await?;
    Ok(Json(body).into_response())
}

/// `GET /v1/sources/{id}?days=N`: one source, as in `GET /v1/sources`.
pub(crate) async fn source(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    client: Client,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let days = days_of(raw.as_deref())?;
    let store = state.store.clone();
    let id = source_of(&store, &id)?;
    let source = store.source(id);
    let origin = Origin::of(&state, &client, &original, &uri);
    let mut body = read_blocking(&state, move || overviews(&store, source, days, &origin)).await?;
    let one = body["sources"][0].take();
    let mut one = one;
    for key in ["since", "until", "days"] {
        one[key] = body[key].take();
    }
    Ok(Json(one).into_response())
}

/// `GET /v1/rejected?limit=N`: the most recent payloads collection turned
/// away, newest first, with their reasons.
pub(crate) async fn rejected(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let limit = bounded_param(raw.as_deref(), "limit", REJECTED_DEFAULT, 1..=REJECTED_MAX)?;
    let store = state.store.clone();
    let body = read_blocking(&state, move || {
        let recent: Vec<Value> = store
            .rejected(limit)
            .into_iter()
            .rev()
            .map(|r| {
                json!({
                    "received_at": format_rfc3339(r.received_ms),
                    "reason": r.reason,
                    "payload": r.payload,
                })
            })
            .collect();
        Ok(json!({
            "rejected_since_open": store.stats().rejected,
            "rejected": recent,
        }))
    })
    .await?;
    Ok(Json(body).into_response())
}

/// `GET /v1/retention`: the policy, each source's own maximum age, the log
/// start, bytes by age, and the lifecycle counters.
pub(crate) async fn retention(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let store = state.store.clone();
    let body = read_blocking(&state, move || {
        let policy = store.retention();
        let stats = store.stats();
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs());
        Ok(json!({
            "max_age_secs": secs(policy.get_max_age()),
            "max_bytes": policy.get_max_bytes(),
            "roll_interval_secs": policy.get_roll_interval().as_secs(),
            "log_start": stats.log_start,
            "bytes_by_age": stats.bytes_by_age,
            "pending_erasures": stats.pending_erasures,
            "suppressed_profiles": stats.suppressed_profiles,
            "maintenance_error": stats.maintenance_error,
            "sources": store.sources().iter().map(|s| json!({
                "id": s.id(), "name": s.name(), "max_age_secs": secs(s.max_age()),
            })).collect::<Vec<_>>(),
        }))
    })
    .await?;
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_bounded() {
        assert_eq!(days_of(None).unwrap(), DAYS_DEFAULT);
        assert_eq!(days_of(Some("days=3")).unwrap(), 3);
        assert!(days_of(Some("days=0")).is_err());
        assert!(days_of(Some("days=91")).is_err());
        assert!(days_of(Some("weeks=1")).is_err());
    }

    #[test]
    fn the_window_ends_with_the_latest_day() {
        let day = Bucket::Day.millis();
        let stats = |last: Option<i64>| SourceStats {
            source: crate::SourceId(1),
            name: "a".into(),
            events: 1,
            bytes: 1,
            first_seq: None,
            last_seq: None,
            first_timestamp_ms: None,
            last_timestamp_ms: last,
        };
        let (since, until) = window(&[stats(Some(10 * day + 5)), stats(None)], 7);
        assert_eq!((since, until), (4 * day, 11 * day));
    }
}
