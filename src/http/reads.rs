//! Read endpoints, behind the read token: `GET /v1/sources/{id}/events` (NDJSON,
//! streamed; the last line is the cursor; with `wait_ms` a long poll that
//! answers as soon as a matching event exists), `/v1/sources/{id}/counts`,
//! `/v1/stats`. At most `HttpConfig::max_concurrent_reads` run at once, so
//! that reads never take the blocking threads writes need; a streamed page
//! whose client stops reading is abandoned after the write timeout.

use std::io;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::AppState;
use super::collect::blocking;
use super::error::ApiError;
use crate::{CountBy, Query, SourceId, Store, parse_time};

/// Events per page when `limit` is not given, and the most allowed.
const PAGE_DEFAULT: usize = 1000;
const PAGE_MAX: usize = 10_000;
/// Bytes of NDJSON buffered before a chunk is sent.
const CHUNK_BYTES: usize = 64 << 10;
/// The longest `wait_ms` of a long poll (the request timeout bounds it too).
const WAIT_MS_MAX: u64 = 25_000;
/// How often a long poll looks at the last sequence number (a load of an
/// atomic; the index is only walked when it moved).
const WAIT_POLL: Duration = Duration::from_millis(50);

/// Checks `Authorization: Bearer TOKEN` against the server's read token.
pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.config.read_token else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "reads_disabled",
            "read endpoints are off: start `firstlog serve` with --read-token, \
             FIRSTLOG_READ_TOKEN or --read-token-file",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match given {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_read_token",
            "reads need the read token: Authorization: Bearer TOKEN (write keys do not grant reads)",
        )),
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_read_token",
            "the read token is not the one this server was started with",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The one query parameter `name` an endpoint takes, parsed and within
/// `range`; `default` when absent. Any other parameter is refused.
pub(crate) fn bounded_param<T>(
    raw: Option<&str>,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ApiError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let mut out = default;
    for (key, value) in query_pairs(raw)? {
        if key != name {
            return Err(ApiError::parameter(
                &key,
                format!("unknown parameter; expected {name}"),
            ));
        }
        out = value
            .parse::<T>()
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| {
                ApiError::parameter(
                    name,
                    format!("must be {} to {}", range.start(), range.end()),
                )
            })?;
    }
    Ok(out)
}

/// Decodes `a=1&b=x%20y&b=z` into pairs (repeated keys kept).
pub(crate) fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |s: &str| -> Result<String, ApiError> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or_else(|| ApiError::parameter(s, "bad percent-encoding"))?;
                    out.push(hex);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| ApiError::parameter(s, "not UTF-8"))
    };
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// The filters of a read request.
#[derive(Clone, Default)]
struct Filters {
    since: Option<i64>,
    until: Option<i64>,
    names: Vec<String>,
    profile: Option<String>,
    after: Option<u64>,
    limit: Option<usize>,
    desc: bool,
    by: Option<String>,
    wait_ms: Option<u64>,
}

fn filters(raw: Option<&str>, allowed: &[&str]) -> Result<Filters, ApiError> {
    let mut f = Filters::default();
    for (key, value) in query_pairs(raw)? {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::parameter(
                &key,
                format!("unknown parameter; expected one of {}", allowed.join(", ")),
            ));
        }
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|e| ApiError::parameter(&key, e.to_string()))
        };
        match key.as_str() {
            "since" => {
                f.since = Some(parse_time(&value).map_err(|e| ApiError::parameter("since", e))?)
            }
            "until" => {
                f.until = Some(parse_time(&value).map_err(|e| ApiError::parameter("until", e))?)
            }
            "name" => f.names.push(value),
            "profile" => f.profile = Some(value),
            "after" => f.after = Some(number(&value)?),
            "limit" => {
                let n = number(&value)? as usize;
                if n == 0 || n > PAGE_MAX {
                    return Err(ApiError::parameter(
                        "limit",
                        format!("must be 1 to {PAGE_MAX}"),
                    ));
                }
                f.limit = Some(n);
            }
            "order" => {
                f.desc = match value.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => return Err(ApiError::parameter("order", "must be asc or desc")),
                }
            }
            "by" => f.by = Some(value),
            "wait_ms" => {
                let ms = number(&value)?;
                if ms > WAIT_MS_MAX {
                    return Err(ApiError::parameter(
                        "wait_ms",
                        format!("must be 0 to {WAIT_MS_MAX}"),
                    ));
                }
                f.wait_ms = Some(ms);
            }
            _ => {}
        }
    }
    Ok(f)
}

impl Filters {
    fn apply<'s>(&self, mut q: Query<'s>) -> Query<'s> {
        if let Some(ms) = self.since {
            q = q.since(ms);
        }
        if let Some(ms) = self.until {
            q = q.until(ms);
        }
        for name in &self.names {
            q = q.name(name);
        }
        if let Some(p) = &self.profile {
            q = q.profile(p);
        }
        if let Some(seq) = self.after {
            q = q.after(seq);
        }
        if self.desc {
            q = q.descending();
        }
        q
    }
}

pub(crate) fn source_of(store: &Store, id: &str) -> Result<SourceId, ApiError> {
    let id: u32 = id
        .parse()
        .map_err(|_| ApiError::parameter("id", format!("{id:?} is not a source id")))?;
    store.source(SourceId(id)).map(|s| s.id()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_source",
            format!("no source with id {id}"),
        )
    })
}

/// What the blocking producer of a page sends.
enum Chunk {
    Data(Bytes),
    /// The page's last bytes (the cursor line).
    Last(Bytes),
}

/// A body that yields what a blocking producer sends through a channel. If the
/// producer stops before its last chunk, the body ends in an error, so the
/// client sees a broken response (the connection is reset), never a short one
/// that looks complete.
struct ChannelBody {
    chunks: mpsc::Receiver<Chunk>,
    done: bool,
}

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.chunks.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Chunk::Data(bytes))) => Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(Some(Chunk::Last(bytes))) => {
                self.done = true;
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(Some(Err(io::Error::other("the page was abandoned"))))
            }
        }
    }
}

/// Sends a chunk from the blocking producer, waiting at most `timeout` for the
/// client to take the previous ones; false when the client is gone or stalled.
fn send_chunk(tx: &mpsc::Sender<Chunk>, chunk: Chunk, timeout: Duration) -> bool {
    tokio::runtime::Handle::current()
        .block_on(tx.send_timeout(chunk, timeout))
        .is_ok()
}

/// Waits for one of the read slots (`HttpConfig::max_concurrent_reads`).
pub(crate) async fn read_slot(state: &AppState) -> Result<OwnedSemaphorePermit, ApiError> {
    state.reads.clone().acquire_owned().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down",
        )
    })
}

/// Runs `f` on a blocking thread holding a read slot (reads are bounded so
/// they cannot starve writes).
pub(crate) async fn read_blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let slot = read_slot(state).await?;
    blocking(move || {
        let _slot = slot;
        f()
    })
    .await
}

/// `GET /v1/sources/{id}/events`.
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let f = filters(
        raw.as_deref(),
        &[
            "since", "until", "name", "profile", "after", "limit", "order", "wait_ms",
        ],
    )?;
    let store = state.store.clone();
    let source = source_of(&store, &id)?;
    let limit = f.limit.unwrap_or(PAGE_DEFAULT);
    if let Some(ms) = f.wait_ms {
        if f.desc {
            return Err(ApiError::parameter(
                "wait_ms",
                "waits for new events: only with order=asc",
            ));
        }
        // Leave the request a second to answer before its timeout.
        let longest = state
            .config
            .request_timeout
            .saturating_sub(Duration::from_secs(1));
        let f = f.clone();
        wait_for_match(&state, source, f, Duration::from_millis(ms).min(longest)).await?;
    }
    let slot = read_slot(&state).await?;
    let (tx, rx) = mpsc::channel(4);
    let write_timeout = state.config.limits.write_timeout;
    tokio::task::spawn_blocking(move || {
        stream_events(&store, source, &f, (limit, write_timeout), &tx);
        drop(slot);
    });
    let body = ChannelBody {
        chunks: rx,
        done: false,
    };
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response())
}

/// Waits until an event matching `f` exists, `wait` passes or the server
/// shuts down, without holding a read slot or a thread while nothing happens.
async fn wait_for_match(
    state: &AppState,
    source: SourceId,
    f: Filters,
    wait: Duration,
) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let f = Arc::new(f);
    let mut checked = None;
    loop {
        let seen = state.store.last_seq();
        if checked != Some(seen) {
            checked = Some(seen);
            let store = state.store.clone();
            let f = f.clone();
            let slot = read_slot(state).await?;
            let found = blocking(move || {
                let _slot = slot;
                Ok(f.apply(store.query(source)).limit(1).count()? > 0)
            })
            .await?;
            if found {
                return Ok(());
            }
        }
        let now = tokio::time::Instant::now();
        if now >= deadline
            || state
                .shutting_down
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(());
        }
        tokio::time::sleep(WAIT_POLL.min(deadline - now)).await;
    }
}

/// Writes the page as NDJSON chunks; the last line is `{"next_cursor": SEQ}` (or
/// null when there is nothing more), or `{"error": ...}` if reading failed.
/// Gives up when the client takes no chunk for `write_timeout`.
fn stream_events(
    store: &Store,
    source: SourceId,
    f: &Filters,
    (limit, write_timeout): (usize, Duration),
    tx: &mpsc::Sender<Chunk>,
) {
    let query = f.apply(store.query(source)).limit(limit + 1);
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
    let (mut sent, mut last, mut more, mut gone) = (0usize, None, false, false);
    let mut unreadable = None;
    let walked = query.for_each(|event| {
        if sent == limit {
            more = true;
            return ControlFlow::Break(());
        }
        let mark = buf.len();
        if let Err(e) = event.write_json(&mut buf) {
            buf.truncate(mark);
            unreadable = Some(e);
            return ControlFlow::Break(());
        }
        buf.push(b'\n');
        sent += 1;
        last = Some(event.seq());
        if buf.len() >= CHUNK_BYTES {
            let chunk = Bytes::from(std::mem::replace(
                &mut buf,
                Vec::with_capacity(CHUNK_BYTES + 4096),
            ));
            if !send_chunk(tx, Chunk::Data(chunk), write_timeout) {
                gone = true;
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    if gone {
        return;
    }
    let tail = match unreadable.map_or(walked.map(|_| ()), Err) {
        Ok(()) => serde_json::json!({"next_cursor": if more { last } else { None }, "count": sent}),
        Err(e) => serde_json::json!({"error": "store_error", "message": e.to_string()}),
    };
    buf.extend_from_slice(tail.to_string().as_bytes());
    buf.push(b'\n');
    send_chunk(tx, Chunk::Last(Bytes::from(buf)), write_timeout);
}

/// `GET /v1/sources/{id}/counts?by=name|hour|day`.
pub(crate) async fn counts(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let f = filters(raw.as_deref(), &["since", "until", "name", "profile", "by"])?;
    let store = state.store.clone();
    let source = source_of(&store, &id)?;
    let by: CountBy =
        f.by.as_deref()
            .unwrap_or("name")
            .parse()
            .map_err(|e: String| ApiError::parameter("by", e))?;
    let counts = read_blocking(&state, move || {
        Ok(f.apply(store.query(source)).counts(by)?)
    })
    .await?;
    Ok(Json(counts).into_response())
}

/// `GET /v1/stats`.
pub(crate) async fn stats(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let store = state.store.clone();
    let stats = read_blocking(&state, move || Ok(store.stats())).await?;
    Ok(Json(stats).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        let pairs = query_pairs(Some("name=Page+Viewed&name=Form%20Submitted&limit=5&x")).unwrap();
        let expected = [
            ("name", "Page Viewed"),
            ("name", "Form Submitted"),
            ("limit", "5"),
            ("x", ""),
        ];
        assert_eq!(pairs.len(), expected.len());
        for ((k, v), (ek, ev)) in pairs.iter().zip(expected) {
            assert_eq!((k.as_str(), v.as_str()), (ek, ev));
        }
        assert!(query_pairs(Some("a=%zz")).is_err());
    }

    #[test]
    fn tokens_compare() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
