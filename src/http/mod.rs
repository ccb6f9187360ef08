//! The HTTP collector as a library (feature `http`): the Firstparty and
//! Segment-compatible write endpoints, the read endpoints behind a read token,
//! and health checks, as an axum [`Router`] that another server can mount.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use firstlog::Store;
//! use firstlog::http::{HttpConfig, router};
//!
//! let store = Store::open("./analytics")?;
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my app" }))
//!     .nest("/collect", router(store.clone(), HttpConfig::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! [`serve`] runs the collector on its own listener with graceful shutdown (what
//! `firstlog serve` does). Store calls block (they write and may sync), so
//! handlers run them on tokio's blocking pool: use a multi-threaded runtime.

mod body;
mod collect;
mod error;
mod firstparty;
mod reads;
mod segment;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::{Limits, Store};
use error::ApiError;
use segment::Call;

/// How the collector behaves. Start from `HttpConfig::default()`.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    read_token: Option<String>,
    request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            read_token: None,
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl HttpConfig {
    /// The token that read endpoints require as `Authorization: Bearer TOKEN`.
    /// Without one (the default) the read endpoints are off (404).
    pub fn read_token(mut self, token: impl Into<String>) -> Self {
        self.read_token = Some(token.into());
        self
    }

    /// The longest a request may take, reading its body included (default 30 s);
    /// after it the client gets 503 `timeout`.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) limits: Limits,
    /// `None`: read endpoints are off.
    pub(crate) read_token: Option<String>,
    pub(crate) request_timeout: Duration,
    pub(crate) shutting_down: AtomicBool,
}

/// The collector's routes for `store`, to serve or to mount (`nest`) in another
/// axum app. Paths are those of the README ("HTTP endpoints").
pub fn router(store: Store, config: HttpConfig) -> Router {
    routes(Arc::new(state(store, config)))
}

fn state(store: Store, config: HttpConfig) -> AppState {
    AppState {
        limits: store.limits(),
        store,
        read_token: config.read_token,
        request_timeout: config.request_timeout,
        shutting_down: AtomicBool::new(false),
    }
}

fn routes(state: Arc<AppState>) -> Router {
    let segment = |call: Call| {
        post(move |State(s): State<Arc<AppState>>, headers, body| {
            segment::single(s, headers, body, call)
        })
    };
    Router::new()
        .route("/events/track", post(firstparty::track))
        .route("/events/track/bulk", post(firstparty::bulk))
        .route("/v1/track", segment(Call::Track))
        .route("/v1/page", segment(Call::Page))
        .route("/v1/screen", segment(Call::Screen))
        .route("/v1/identify", segment(Call::Identify))
        .route("/v1/group", segment(Call::Group))
        .route("/v1/alias", segment(Call::Alias))
        .route("/v1/batch", post(segment::batch))
        .route("/v1/import", post(segment::batch))
        .route("/v1/sources/{id}/events", get(reads::events))
        .route("/v1/sources/{id}/counts", get(reads::counts))
        .route("/v1/stats", get(reads::stats))
        .route("/healthz", get(reads::healthz))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint (see the README)",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), with_timeout))
        .with_state(state)
}

/// Bounds each request (reading its body included).
async fn with_timeout(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s; events in it may or may not be stored \
                 (retry with the same message ids)",
                state.request_timeout.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Serves the collector on `listener` until `shutdown` resolves; then `/healthz`
/// answers 503, no new connection is accepted, and requests in flight get up to
/// `grace` to finish. The store is left open (sync and close it after).
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let state = Arc::new(state(store, config));
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, routes(state.clone())).with_graceful_shutdown(async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    });
    let mut server = tokio::spawn(std::future::IntoFuture::into_future(server));
    tokio::select! {
        ended = &mut server => return flatten(ended),
        () = shutdown => {}
    }
    state.shutting_down.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, &mut server).await {
        Ok(ended) => flatten(ended),
        Err(_) => {
            server.abort();
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("requests still open after {} s", grace.as_secs()),
            ))
        }
    }
}

fn flatten(ended: Result<std::io::Result<()>, tokio::task::JoinError>) -> std::io::Result<()> {
    ended.map_err(std::io::Error::other)?
}
