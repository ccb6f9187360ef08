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
mod client;
mod collect;
mod config;
mod console;
mod cors;
mod erasures;
mod error;
mod firstparty;
mod health;
mod ingest;
mod overview;
mod reads;
mod segment;
mod server;
mod tracker;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::{Limits, Store};
use client::Client;
pub use config::HttpConfig;
use error::ApiError;
use segment::Call;
pub use server::serve;
#[cfg(feature = "tls")]
pub use server::tls_config_from_pem;
pub use tracker::snippet;

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) limits: Limits,
    /// How the collector behaves (read token, timeouts, CORS, prefix, ...).
    pub(crate) config: HttpConfig,
    /// One permit per read allowed to run at once.
    pub(crate) reads: Arc<tokio::sync::Semaphore>,
    /// Single-event requests, collected in groups.
    pub(crate) ingest: Arc<ingest::Ingest>,
    pub(crate) shutting_down: AtomicBool,
}

/// The collector's routes for `store`, to serve or to mount (`nest`) in another
/// axum app. Paths are those of the README ("HTTP endpoints"), under
/// `HttpConfig::path_prefix` when one is set.
pub fn router(store: Store, config: HttpConfig) -> Router {
    routes(Arc::new(state(store, &config)))
}

fn state(store: Store, config: &HttpConfig) -> AppState {
    AppState {
        limits: store.limits(),
        ingest: ingest::Ingest::new(store.clone()),
        store,
        reads: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_reads)),
        config: config.clone(),
        shutting_down: AtomicBool::new(false),
    }
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint (see the README)",
    )
}

fn routes(state: Arc<AppState>) -> Router {
    let segment = |call: Call| {
        post(
            move |State(s): State<Arc<AppState>>, client: Client, headers, body| {
                segment::single(s, client, headers, body, call)
            },
        )
    };
    let script = |minified: bool| {
        get(move |headers: HeaderMap| async move { tracker::serve_script(minified, &headers) })
    };
    let mut app = Router::new()
        .route("/events/track", post(firstparty::track))
        .route("/events/track/bulk", post(firstparty::bulk))
        .route("/v1/batch", post(segment::batch))
        .route("/v1/import", post(segment::batch))
        .route("/v1/b", post(segment::batch))
        .route("/v1/projects/{write_key}/settings", get(segment::settings))
        .route("/js/firstparty.js", get(script(false)))
        .route("/js/firstparty.min.js", get(script(true)))
        .route("/v1/sources/{id}/events", get(reads::events))
        .route("/v1/sources/{id}/counts", get(reads::counts))
        .route("/v1/stats", get(reads::stats))
        .route("/v1/sources", get(overview::sources))
        .route("/v1/sources/{id}", get(overview::source))
        .route("/v1/rejected", get(overview::rejected))
        .route("/v1/retention", get(overview::retention))
        .route("/v1/erasures", post(erasures::create).get(erasures::list))
        .route("/v1/erasures/{id}", get(erasures::one))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    for (long, short, call) in [
        ("/v1/track", "/v1/t", Call::Track),
        ("/v1/page", "/v1/p", Call::Page),
        ("/v1/screen", "/v1/s", Call::Screen),
        ("/v1/identify", "/v1/i", Call::Identify),
        ("/v1/group", "/v1/g", Call::Group),
        ("/v1/alias", "/v1/a", Call::Alias),
    ] {
        app = app.route(long, segment(call)).route(short, segment(call));
    }
    // The console only where reads are on: its data calls need the token.
    if state.config.read_token.is_some() {
        app = app.route("/", get(console::index));
        for (path, i) in console::asset_paths() {
            app = app.route(
                &path,
                get(move |headers: HeaderMap| async move { console::serve_asset(i, &headers) }),
            );
        }
    }
    let app = app
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), with_timeout))
        .layer(middleware::from_fn(error::json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        .with_state(state.clone());
    if state.config.path_prefix.is_empty() {
        return app;
    }
    let mut outer = Router::new().nest(&state.config.path_prefix, app);
    if state.config.read_token.is_some() {
        // `nest` routes `/fp` to the console; `/fp/` too.
        let base = state.config.path_prefix.clone();
        outer = outer.route(
            &format!("{}/", state.config.path_prefix.trim_end_matches('/')),
            get(move || async move { console::page(&base) }),
        );
    }
    outer
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn(error::json_errors))
}

/// Bounds each request (reading its body included).
async fn with_timeout(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(state.config.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s; events in it may or may not be stored \
                 (retry with the same message ids)",
                state.config.request_timeout.as_secs()
            ),
        )
        .into_response(),
    }
}
