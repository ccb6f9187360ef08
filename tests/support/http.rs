//! HTTP for tests: the collector served in-process on a loopback port, and a
//! small client (ureq) that never treats a status as an error.

use std::io::Write;
use std::time::Duration;

use firstlog::Store;
use firstlog::http::{HttpConfig, serve};

use super::ndjson;

/// The collector of `store`, served by the library on `127.0.0.1:PORT` from a
/// runtime of its own; stopped (gracefully) on drop.
pub struct Collector {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The listening address.
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Collector {
    /// Serves `store` with `config`.
    pub fn start(store: Store, config: HttpConfig) -> Collector {
        Collector::start_with_scheme(store, config, "http")
    }

    /// Serves `store` with `config`, whose TLS makes the base `https://localhost:PORT`.
    pub fn start_with_scheme(store: Store, config: HttpConfig, scheme: &str) -> Collector {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let _ = addr_tx.send(listener.local_addr()?);
                let shutdown = async move {
                    let _ = stopped.await;
                };
                serve(listener, store, config, shutdown, Duration::from_secs(10)).await
            })
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the collector did not start");
        let host = if scheme == "https" {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        };
        Collector {
            base: format!("{scheme}://{host}"),
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server (graceful shutdown) and waits for it.
    pub fn stop(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().expect("server thread"),
            None => Ok(()),
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// An HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {self:?}"))
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut resp = resp.expect("HTTP request");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .expect("read body");
    Reply {
        status,
        body,
        headers,
    }
}

/// POSTs `body` with the given headers.
pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body))
}

/// Any request: `method`, headers, body (may be empty).
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder.body(body.to_vec()).expect("request");
    reply(agent().run(request))
}

/// POSTs a JSON body; `None` when the connection fails (refused, reset).
pub fn try_post_json(url: &str, body: &str) -> Option<Reply> {
    let mut resp = agent()
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .ok()?;
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().ok()?;
    Some(Reply {
        status,
        body,
        headers: Vec::new(),
    })
}

/// POSTs a JSON body.
pub fn post_json(url: &str, body: &str) -> Reply {
    post(
        url,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// GETs `url`, with a read token when given.
pub fn get(url: &str, token: Option<&str>) -> Reply {
    let mut req = agent().get(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    reply(req.call())
}

/// Every event of `source` through the read API of the server at `base`, page
/// by page (`page` per request), following the cursor line.
pub fn read_all(base: &str, token: &str, source: u32, page: usize) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut url = format!("{base}/v1/sources/{source}/events?limit={page}");
        if let Some(a) = after {
            url.push_str(&format!("&after={a}"));
        }
        let r = get(&url, Some(token));
        assert_eq!(r.status, 200, "{r:?}");
        let mut lines = ndjson(&r.body);
        let tail = lines.pop().expect("cursor line");
        assert!(
            tail.get("next_cursor").is_some(),
            "last line is the cursor: {tail}"
        );
        assert_eq!(tail["count"].as_u64(), Some(lines.len() as u64));
        events.extend(lines);
        match tail["next_cursor"].as_u64() {
            Some(c) => after = Some(c),
            None => return events,
        }
    }
}

/// Sends raw bytes on a new connection and returns everything the server
/// writes until it closes the connection (or `wait` passes).
pub fn raw(addr: std::net::SocketAddr, request: &[u8], wait: Duration) -> String {
    use std::io::Read;
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(wait)).expect("timeout");
    tcp.write_all(request).expect("send");
    let mut out = Vec::new();
    let _ = tcp.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON body of a raw HTTP/1.1 response (`Content-Length` framed).
pub fn raw_json(response: &str) -> serde_json::Value {
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("no body in {response:?}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response:?}"))
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// `Basic base64(user:)`.
pub fn basic(user: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
    )
}
