//! [`serve`]: the collector on its own listener, hardened for the internet. Its
//! own accept loop over hyper's HTTP/1 connections, so that every connection is
//! bounded: how many are served at once (`max_connections`; a few more answer
//! only the health checks, the rest are closed at once, before descriptors run
//! out), how long one may idle, take to send its headers, or leave a response
//! unread ([`io::TimedIo`]); HTTPS with rustls (feature `tls`); graceful
//! shutdown.

mod io;
mod service;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client::ConnInfo;
use super::config::ServerLimits;
use super::{AppState, HttpConfig, routes, state};
use crate::Store;
use io::{Activity, Clocks, TimedIo};
use service::Admission;
#[cfg(feature = "tls")]
pub use tls::tls_config_from_pem;

/// Connections accepted past `max_connections` to answer the health checks.
const OVERFLOW_CONNECTIONS: usize = 32;
/// The clocks of an overflow connection: it gets one quick request.
const OVERFLOW_TIMEOUT: Duration = Duration::from_secs(2);
/// Request heads (request line and headers) larger than this get 431.
const HEAD_BYTES_MAX: usize = 64 << 10;
/// After an accept error (out of descriptors), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What every connection task shares.
struct Shared {
    app: Router,
    limits: ServerLimits,
    path_prefix: Arc<str>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Serves the collector on `listener` until `shutdown` resolves; then no new
/// connection is accepted, `/readyz` answers 503, and requests in flight get up
/// to `grace` to finish (an error of kind `TimedOut` if some did not). The
/// store is left open (sync and close it after).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let state = Arc::new(state(store, &config));
    let shared = Arc::new(Shared {
        app: routes(state.clone()),
        limits: config.limits,
        path_prefix: Arc::from(config.path_prefix.as_str()),
        #[cfg(feature = "tls")]
        tls: config.tls.clone().map(tokio_rustls::TlsAcceptor::from),
    });
    let graceful = GracefulShutdown::new();
    accept_until(&listener, &shared, &graceful, shutdown).await;
    drop(listener);
    stop(&state, graceful, grace).await
}

async fn stop(
    state: &AppState,
    graceful: GracefulShutdown,
    grace: Duration,
) -> std::io::Result<()> {
    state.shutting_down.store(true, Ordering::Relaxed);
    state.reads.close();
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => Ok(()),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("requests still open after {} s", grace.as_secs()),
        )),
    }
}

/// Accepts connections until `shutdown` resolves.
async fn accept_until(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    graceful: &GracefulShutdown,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(shared.limits.max_connections));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of descriptors, or a connection reset before it was
                    // accepted: wait a little rather than spin.
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let admitted = match slots.clone().try_acquire_owned() {
            Ok(permit) => (permit, Admission::Full),
            Err(_) => match overflow.clone().try_acquire_owned() {
                Ok(permit) => (permit, Admission::HealthOnly),
                Err(_) => continue, // dropped: closed at once
            },
        };
        tokio::spawn(connection(
            tcp,
            peer,
            shared.clone(),
            admitted,
            graceful.watcher(),
        ));
    }
}

/// Serves one connection, holding its slot until it closes.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    (_slot, admission): (OwnedSemaphorePermit, Admission),
    watcher: Watcher,
) {
    let _ = tcp.set_nodelay(true);
    let limits = shared.limits;
    let clocks = match admission {
        Admission::Full => Clocks {
            header_read: limits.header_read_timeout,
            idle: limits.idle_timeout,
            write: limits.write_timeout,
        },
        Admission::HealthOnly => Clocks {
            header_read: OVERFLOW_TIMEOUT,
            idle: OVERFLOW_TIMEOUT,
            write: OVERFLOW_TIMEOUT,
        },
    };
    let conn = |tls| ConnInfo { peer, tls };
    #[cfg(feature = "tls")]
    if let Some(acceptor) = &shared.tls {
        // The handshake is bounded like a request's headers.
        let handshake = tokio::time::timeout(clocks.header_read, acceptor.accept(tcp));
        if let Ok(Ok(stream)) = handshake.await {
            http1(stream, clocks, &shared, (conn(true), admission), watcher).await;
        }
        return;
    }
    http1(tcp, clocks, &shared, (conn(false), admission), watcher).await;
}

/// Runs hyper's HTTP/1 protocol over `stream` until the connection closes.
async fn http1<S>(
    stream: S,
    clocks: Clocks,
    shared: &Shared,
    (conn, admission): (ConnInfo, Admission),
    watcher: Watcher,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = TokioIo::new(TimedIo::new(stream, activity.clone(), clocks));
    let (app, prefix) = (shared.app.clone(), shared.path_prefix.clone());
    let service = hyper::service::service_fn(move |request| {
        let facts = (conn, activity.clone(), admission);
        service::handle(app.clone(), request, facts, prefix.clone())
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // TimedIo keeps the header and idle clocks.
        .header_read_timeout(None)
        .max_header_size(HEAD_BYTES_MAX)
        .keep_alive(admission == Admission::Full);
    let _ = watcher.watch(builder.serve_connection(io, service)).await;
}
