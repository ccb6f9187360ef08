//! Issue 13's attacks, reproduced on loopback against `firstlog::http::serve`
//! with short clocks, and what the server must do about them: slowloris and
//! idle connections are closed on time; past the connection limit new
//! connections are refused early while `/healthz` still answers; reads whose
//! client never reads cannot block a write; `/readyz` flips on a poisoned
//! store and on shutdown; an overflowing clock-skew correction is a 400; every
//! error status, including those the HTTP stack makes, has the JSON body; and
//! HTTPS works end to end with a certificate made here.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::http::{Collector, basic, get, post, post_json, raw, raw_json};
use crate::support::store::{mem_store, mem_store_with_sources, options};
use firstlog::http::HttpConfig;
use firstlog::testing::{FaultPlan, FaultyFs, MemFs};
use firstlog::{NewEvent, Store};

const TOKEN: &str = "t0k3n";
/// Far above the clocks under test (1 s): a connection still open after it
/// was not closed on time.
const BOUND: Duration = Duration::from_secs(15);

/// Whether the server closed `tcp` (EOF or reset) within [`BOUND`].
fn closed_within_bound(tcp: &mut TcpStream) -> bool {
    tcp.set_read_timeout(Some(BOUND)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a response (408-like) before the close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

fn quick_clocks() -> HttpConfig {
    HttpConfig::default()
        .read_token(TOKEN)
        .header_read_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(1))
        .write_timeout(Duration::from_secs(1))
}

#[test]
fn slow_and_idle_connections_are_closed_on_time() {
    let (store, _) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, quick_clocks());
    // Slowloris: headers trickle in, never finished.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"POST /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        .unwrap();
    let trickle = {
        let mut slow = slow.try_clone().unwrap();
        std::thread::spawn(move || {
            for i in 0..40 {
                std::thread::sleep(Duration::from_millis(250));
                if slow.write_all(format!("X-{i}: y\r\n").as_bytes()).is_err() {
                    return true;
                }
            }
            false
        })
    };
    // Idle: connected, never a byte; and kept alive after one request.
    let mut silent = TcpStream::connect(server.addr).unwrap();
    let mut kept = TcpStream::connect(server.addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    assert!(
        closed_within_bound(&mut slow),
        "slowloris connection left open"
    );
    assert!(
        closed_within_bound(&mut silent),
        "idle connection left open"
    );
    assert!(
        closed_within_bound(&mut kept),
        "keep-alive connection left open"
    );
    assert!(started.elapsed() < BOUND);
    assert!(
        trickle.join().unwrap(),
        "the server kept reading the trickle"
    );
    // Normal clients are served meanwhile and after.
    assert_eq!(get(&server.url("/healthz"), None).status, 200);
}

#[test]
fn the_connection_limit_holds_and_healthz_still_answers() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let config = HttpConfig::default().max_connections(4);
    let server = Collector::start(store, config);
    let held: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300)); // let the server take them
    let health = raw(
        server.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        BOUND,
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let ready = raw(
        server.addr,
        b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        BOUND,
    );
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let body = format!(r#"{{"event":"A B","write_key":"{}"}}"#, sources[0].1);
    let request = format!(
        "POST /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let refused = raw(server.addr, request.as_bytes(), BOUND);
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert_eq!(raw_json(&refused)["error"], "too_many_connections");
    // A flood past the overflow slots is closed at once, not queued.
    let mut flood: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let closed = flood
        .iter_mut()
        .map(closed_within_bound)
        .filter(|c| *c)
        .count();
    assert!(closed >= 64 - 32, "{closed} of 64 closed");
    drop(flood);
    drop(held);
    // Slots free again: writes are served.
    let deadline = Instant::now() + BOUND;
    loop {
        if post_json(&server.url("/events/track"), &body).status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "writes never came back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn undrained_reads_cannot_block_a_write() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let key = sources[0].1.clone();
    let events: Vec<NewEvent> = (0..20_000)
        .map(|i| {
            NewEvent::new("Page Viewed", key.as_str()).property("padding", "x".repeat(100 + i % 7))
        })
        .collect();
    store.collect_batch(events).unwrap();
    let server = Collector::start(store, quick_clocks().max_concurrent_reads(2));
    // Clients that ask for big pages and never read them.
    let asks = format!(
        "GET /v1/sources/1/events?limit=10000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    let mut stalled: Vec<TcpStream> = (0..12)
        .map(|_| {
            let mut tcp = TcpStream::connect(server.addr).unwrap();
            tcp.write_all(asks.as_bytes()).unwrap();
            tcp
        })
        .collect();
    let started = Instant::now();
    let r = post_json(
        &server.url("/events/track"),
        &format!(r#"{{"event":"A B","write_key":"{key}"}}"#),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(started.elapsed() < BOUND);
    // The stalled readers are dropped after the write timeout, freeing the read
    // slots: a read that does drain its answer gets it.
    for tcp in &mut stalled {
        assert!(
            closed_within_bound(tcp),
            "a reader that never reads kept its connection"
        );
    }
    let r = get(&server.url("/v1/sources/1/counts"), Some(TOKEN));
    assert_eq!((r.status, r.json()["events"].as_u64()), (200, Some(20_001)));
}

/// A full disk: writes answer 503 `disk_full` with a Retry-After, `/readyz`
/// says `disk_full`, and both recover once space is freed, without a restart.
#[test]
fn readiness_and_writes_follow_a_full_disk() {
    let fs = MemFs::new();
    let store = Store::open_with(
        "/mem",
        options().segment_bytes(1 << 20).fs(Arc::new(fs.clone())),
    )
    .unwrap();
    let key = store.create_source("Web").unwrap().write_key().to_owned();
    fs.set_capacity(Some(fs.used_bytes() + (1 << 19)));
    let server = Collector::start(store.clone(), HttpConfig::default().read_token(TOKEN));
    let body = format!(
        r#"{{"event":"A B","write_key":"{key}","properties":{{"pad":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let refused = (0..2000)
        .map(|_| post_json(&server.url("/events/track"), &body))
        .find(|r| r.status != 200)
        .expect("the disk filled");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.json()["error"], "disk_full", "{refused:?}");
    let ready = get(&server.url("/readyz"), None);
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(ready.json()["reason"], "disk_full", "{ready:?}");
    let stats = get(&server.url("/v1/stats"), Some(TOKEN));
    assert_eq!(
        stats.json()["readiness"]["reason"],
        "disk_full",
        "{stats:?}"
    );

    fs.set_capacity(None);
    let ready = get(&server.url("/readyz"), None);
    assert_eq!(ready.status, 200, "{ready:?}");
    let stored = post_json(&server.url("/events/track"), &body);
    assert_eq!(stored.status, 200, "{stored:?}");
}

#[test]
fn readiness_flips_on_poison_and_on_shutdown() {
    let faulty = FaultyFs::new(MemFs::new());
    let store = Store::open_with("/mem", options().fs(Arc::new(faulty.clone()))).unwrap();
    let key = store.create_source("Web").unwrap().write_key().to_owned();
    let mut server = Collector::start(store.clone(), HttpConfig::default());
    let ready = get(&server.url("/readyz"), None);
    assert_eq!(
        (ready.status, ready.json()["status"].as_str()),
        (200, Some("ready"))
    );
    faulty.set_plan(FaultPlan {
        fail_at: Some(faulty.ops() + 1),
        forever: true,
    });
    let body = format!(r#"{{"event":"A B","write_key":"{key}"}}"#);
    let failed = post_json(&server.url("/events/track"), &body);
    assert!(failed.status >= 500, "{failed:?}");
    let ready = get(&server.url("/readyz"), None);
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(ready.json()["error"], "not_ready");
    assert_eq!(ready.json()["reason"], "poisoned", "{ready:?}");
    assert_eq!(
        get(&server.url("/healthz"), None).status,
        200,
        "alive all the same"
    );
    server.stop().unwrap();

    // Shutting down: a kept-alive connection sees 503 before the server goes.
    let healthy = mem_store(options());
    let stopping = Collector::start(healthy, HttpConfig::default());
    let mut tcp = TcpStream::connect(stopping.addr).unwrap();
    let ask = b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n";
    tcp.write_all(ask).unwrap();
    tcp.set_read_timeout(Some(BOUND)).unwrap();
    let mut buf = [0u8; 4096];
    let n = tcp.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let addr = stopping.addr;
    let stopper = std::thread::spawn(move || {
        let mut stopping = stopping;
        stopping.stop()
    });
    let shut = wait_for_refusal(addr);
    stopper.join().unwrap().unwrap();
    assert!(shut, "the listener kept accepting after shutdown");
}

/// Whether new connections to `addr` are refused within the bound.
fn wait_for_refusal(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + BOUND;
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn overflowing_clock_skew_is_refused() {
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, HttpConfig::default());
    let auth = basic(&sources[0].1);
    let headers = [("Authorization", auth.as_str())];
    for body in [
        r#"{"event":"A B","userId":"u","timestamp":-9223372036854775808,"sentAt":9223372036854775807}"#,
        r#"{"event":"A B","userId":"u","timestamp":9223372036854775807,"sentAt":-9223372036854775808}"#,
        r#"{"batch":[{"type":"track","event":"A B","userId":"u","timestamp":-9223372036854775808}],"sentAt":9223372036854775807}"#,
    ] {
        let path = if body.starts_with(r#"{"batch""#) {
            "/v1/batch"
        } else {
            "/v1/track"
        };
        let r = post(&server.url(path), &headers, body.as_bytes());
        assert_eq!(r.status, 400, "{body}: {r:?}");
        let error = if path == "/v1/batch" {
            r.json()["results"][0].clone()
        } else {
            r.json()
        };
        assert_eq!(error["error"], "invalid_event", "{r:?}");
        assert!(
            error["field"].as_str().unwrap().ends_with("timestamp"),
            "{r:?}"
        );
    }
}

#[test]
fn every_error_status_has_a_json_body() {
    let (store, _) = mem_store_with_sources(&["Web"]);
    let server = Collector::start(store, HttpConfig::default().read_token(TOKEN));
    let big = "x".repeat(600 << 10);
    let huge_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "y".repeat(100 << 10)
    );
    let cases: Vec<(u16, String)> = vec![
        (400, "GARBAGE\r\n\r\n".to_owned()),
        (
            400,
            "POST /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\n{".to_owned(),
        ),
        (
            401,
            format!(
                "POST /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
                15, r#"{"event":"A B"}"#
            ),
        ),
        (404, "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned()),
        (
            405,
            "PUT /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_owned(),
        ),
        (
            405,
            "DELETE /v1/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_owned(),
        ),
        (
            413,
            format!(
                "POST /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{big}",
                big.len()
            ),
        ),
        (
            415,
            "POST /events/track HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}".to_owned(),
        ),
        (431, huge_header),
    ];
    for (status, request) in cases {
        let response = raw(server.addr, request.as_bytes(), BOUND);
        let head = response.lines().next().unwrap_or("");
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}")),
            "{status}: {response:.300}"
        );
        let body = raw_json(&response);
        assert_eq!(body["status"], status, "{response:.300}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{response:.300}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{response:.300}"
        );
    }
}

#[test]
fn https_round_trip_with_a_certificate_made_here() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let tls = firstlog::http::tls_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    assert!(firstlog::http::tls_config_from_pem(b"nope", key_pem.as_bytes()).is_err());
    let (store, sources) = mem_store_with_sources(&["Web"]);
    let server = Collector::start_with_scheme(
        store,
        HttpConfig::default().read_token(TOKEN).tls(tls),
        "https",
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let body = format!(
        r#"{{"event":"Page Viewed","write_key":"{}"}}"#,
        sources[0].1
    );
    let request = format!(
        "POST /events/track HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(BOUND)).unwrap();
    let mut tls_stream = rustls::StreamOwned::new(conn, tcp);
    tls_stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = tls_stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(raw_json(&response)["seq"], 1);
    // Plain HTTP on the TLS port gets nothing stored.
    let plain = raw(server.addr, request.as_bytes(), BOUND);
    assert!(!plain.contains("\"seq\""), "{plain}");
}
