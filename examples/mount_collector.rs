//! Another server mounting the firstlog collector: an axum app with a route of
//! its own (`/`) and the collector nested under `/collect`, served from the app's
//! own runtime.
//!
//! ```sh
//! cargo run --example mount_collector --features http            # starts, checks itself, exits
//! cargo run --example mount_collector --features http -- --serve  # keeps serving on 127.0.0.1:8080
//! ```
//!
//! The self-check posts an event to `/collect/events/track`, reads it back from
//! `/collect/v1/sources/1/events` with the read token, and calls `/`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use axum::Router;
use axum::routing::get;
use firstlog::Store;
use firstlog::http::{HttpConfig, router};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const TOKEN: &str = "example-read-token";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let serve = std::env::args().any(|a| a == "--serve");
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let site = store.create_source("www Marketing Page")?;

    let app = Router::new()
        .route(
            "/",
            get(|| async { "my application, with firstlog under /collect\n" }),
        )
        .nest(
            "/collect",
            router(store.clone(), HttpConfig::default().read_token(TOKEN)),
        );
    let addr = if serve {
        "127.0.0.1:8080"
    } else {
        "127.0.0.1:0"
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("serving on http://{local} (the collector under /collect)");
    if serve {
        println!("write key: {}; read token: {TOKEN}", site.write_key());
        axum::serve(listener, app).await?;
        return Ok(());
    }
    tokio::spawn(async move { axum::serve(listener, app).await });
    let key = site.write_key().to_owned();
    let checked = tokio::task::spawn_blocking(move || self_check(local, &key)).await?;
    store.close()?;
    checked
}

/// Calls the app's own route and the mounted collector, as a client would.
fn self_check(addr: SocketAddr, key: &str) -> Result<(), BoxError> {
    let own = request(addr, "GET", "/", None, "")?;
    expect(&own, "200", "my application")?;
    let body = format!(
        r#"{{"event": "Page Viewed", "write_key": "{key}", "properties": {{"path": "/pricing"}}}}"#
    );
    let stored = request(addr, "POST", "/collect/events/track", None, &body)?;
    expect(&stored, "200", r#""seq":1"#)?;
    let auth = format!("Bearer {TOKEN}");
    let read = request(addr, "GET", "/collect/v1/sources/1/events", Some(&auth), "")?;
    expect(&read, "200", r#""path":"/pricing""#)?;
    println!(
        "ok: GET / answered by the app; POST /collect/events/track stored seq 1; GET /collect/v1/sources/1/events read it back"
    );
    Ok(())
}

fn expect(reply: &str, status: &str, contains: &str) -> Result<(), BoxError> {
    let first = reply.lines().next().unwrap_or_default();
    if first.contains(status) && reply.contains(contains) {
        return Ok(());
    }
    Err(format!("expected {status} with {contains:?}, got:\n{reply}").into())
}

/// One HTTP/1.1 request on a fresh connection; the whole reply as text.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}
