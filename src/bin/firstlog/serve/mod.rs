//! `serve`: the HTTP collector. axum on tokio; the store is called on the
//! blocking pool. Prints `listening on http://ADDR` as the first line of standard
//! output. On SIGINT or SIGTERM it stops accepting, finishes the requests in
//! flight, then syncs and closes the store.

mod body;
mod error;
mod reads;
mod segment;
mod write;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use firstlog::{Limits, Store};
use tokio::sync::watch;

use crate::ServeArgs;
use crate::common::{self, CmdResult, Failure};
use error::ApiError;
use segment::Call;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub limits: Limits,
    /// `None`: read endpoints are off.
    pub read_token: Option<String>,
    pub request_timeout: Duration,
    pub shutting_down: AtomicBool,
}

/// The routes.
fn router(state: Arc<AppState>) -> Router {
    let segment = |call: Call| {
        post(move |State(s): State<Arc<AppState>>, headers, body| {
            write::segment_single(s, headers, body, call)
        })
    };
    Router::new()
        .route("/events/track", post(write::track))
        .route("/events/track/bulk", post(write::bulk))
        .route("/v1/track", segment(Call::Track))
        .route("/v1/page", segment(Call::Page))
        .route("/v1/screen", segment(Call::Screen))
        .route("/v1/identify", segment(Call::Identify))
        .route("/v1/group", segment(Call::Group))
        .route("/v1/alias", segment(Call::Alias))
        .route("/v1/batch", post(write::segment_batch))
        .route("/v1/import", post(write::segment_batch))
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

fn read_token(args: &ServeArgs) -> Result<Option<String>, Failure> {
    let token = match (&args.read_token, &args.read_token_file) {
        (Some(t), _) => Some(t.trim().to_owned()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned())
        }
        (None, None) => None,
    };
    match token {
        Some(t) if t.is_empty() => Err(Failure("the read token is empty".into())),
        other => Ok(other),
    }
}

/// `serve`.
pub fn run(dir: &Path, args: ServeArgs) -> CmdResult {
    let read_token = read_token(&args)?;
    let options = common::write_options(&args.write)?;
    let limits = options.limits;
    let store = Store::open_with(dir, options)?;
    let state = Arc::new(AppState {
        store: store.clone(),
        limits,
        read_token,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        shutting_down: AtomicBool::new(false),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the runtime: {e}")))?;
    let grace = Duration::from_secs(args.shutdown_timeout_secs);
    let served = runtime.block_on(serve(state.clone(), &args.addr, dir, grace));
    // Requests abandoned by a timeout may still be collecting: let them finish.
    runtime.shutdown_timeout(Duration::from_secs(10));
    drop(state);
    let synced = store.sync().and_then(|()| store.close());
    let stats = store.stats();
    served?;
    synced?;
    eprintln!(
        "firstlog serve: stopped; {} events stored this run, last seq {}, synced",
        stats.accepted, stats.last_seq
    );
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    state: Arc<AppState>,
    addr: &str,
    dir: &Path,
    grace: Duration,
) -> Result<(), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{local}")?;
        stdout.flush()?;
    }
    eprintln!(
        "firstlog serve: store {}; read endpoints {}; stop with Ctrl-C or SIGTERM",
        dir.display(),
        if state.read_token.is_some() {
            "on (Bearer token)"
        } else {
            "off (no --read-token)"
        }
    );
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let app = router(state.clone());
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.wait_for(|stop| *stop).await;
    });
    let mut server = tokio::spawn(std::future::IntoFuture::into_future(server));
    tokio::select! {
        ended = &mut server => {
            return match ended {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(Failure(format!("the server failed: {e}"))),
                Err(e) => Err(Failure(format!("the server task failed: {e}"))),
            };
        }
        signal = shutdown_signal() => {
            eprintln!("firstlog serve: {signal}: finishing requests in flight");
        }
    }
    state.shutting_down.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, &mut server).await {
        Ok(_) => Ok(()),
        Err(_) => {
            eprintln!(
                "firstlog serve: requests still open after {} s; closing anyway",
                grace.as_secs()
            );
            server.abort();
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM with the signal's name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
