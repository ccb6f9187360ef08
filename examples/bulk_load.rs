//! Bulk ingest over HTTP beside the same bodies collected in-process: the
//! server path's share of the library's JSON path (issue 11's `serve` target).
//!
//! Every mode sends (or collects) the same pre-built request bodies, each of
//! `EVENTS_PER_BODY` realistic page and product events (~480 bytes each, no
//! message ids, so repeats are stored, not deduplicated):
//!
//! - `inprocess`: a fresh store in a temporary directory, `collect_batch_json`
//!   on the Firstparty bulk bodies, on as many threads as CLIENTS;
//! - `bulk`: `POST /events/track/bulk` with the same bodies;
//! - `segment-gzip`: `POST /v1/batch`, the Segment batch shape, gzipped.
//!
//! ```sh
//! firstlog --data /tmp/load init && firstlog --data /tmp/load source create Load
//! firstlog --data /tmp/load serve --addr 127.0.0.1:8080 &
//! cargo run --release --example bulk_load -- inprocess - - 2 10
//! cargo run --release --example bulk_load -- bulk 127.0.0.1:8080 wk_... 2 10
//! cargo run --release --example bulk_load -- segment-gzip 127.0.0.1:8080 wk_... 2 10
//! ```
//!
//! Arguments: MODE ADDR WRITE_KEY [CLIENTS=2] [SECONDS=10]. Prints the rate of
//! events acknowledged (or collected); exits 1 if any request failed.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use firstlog::Store;

#[path = "support/http1.rs"]
mod http1;
use http1::{connect, read_response};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const EVENTS_PER_BODY: usize = 100;
const BODIES: usize = 64;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, addr, key, ..] = args.as_slice() else {
        return Err("usage: bulk_load MODE ADDR WRITE_KEY [CLIENTS] [SECONDS]".into());
    };
    let clients: usize = args.get(3).map_or(Ok(2), |s| s.parse())?;
    let seconds: u64 = args.get(4).map_or(Ok(10), |s| s.parse())?;
    let run = Run {
        stop: Arc::new(AtomicBool::new(false)),
        acked: Arc::new(AtomicU64::new(0)),
    };
    let tmp;
    let workers: Vec<_> = match mode.as_str() {
        "inprocess" => {
            tmp = tempdir()?;
            let store = Store::open(&tmp)?;
            let key = store.create_source("Load")?.write_key().to_owned();
            let bodies = Arc::new(firstparty_bodies(&key));
            (0..clients)
                .map(|_| {
                    let (store, bodies, run) = (store.clone(), bodies.clone(), run.clone());
                    std::thread::spawn(move || run.in_process(&store, &bodies))
                })
                .collect()
        }
        "bulk" | "segment-gzip" => {
            let gzip = mode == "segment-gzip";
            let bodies = Arc::new(if gzip {
                segment_bodies()?
            } else {
                firstparty_bodies(key)
            });
            (0..clients)
                .map(|_| {
                    let (addr, key, bodies, run) =
                        (addr.clone(), key.clone(), bodies.clone(), run.clone());
                    std::thread::spawn(move || run.over_http(&addr, &key, &bodies, gzip))
                })
                .collect()
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    run.stop.store(true, Ordering::Relaxed);
    let mut failed = false;
    for w in workers {
        if let Ok(Err(e)) | Err(e) = w.join().map_err(|_| "panicked".into()) {
            eprintln!("client: {e}");
            failed = true;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let n = run.acked.load(Ordering::Relaxed);
    println!(
        "{mode}: {clients} clients, {secs:.1} s, {n} events, {:.0} events/s",
        n as f64 / secs
    );
    if failed {
        return Err("some clients failed".into());
    }
    Ok(())
}

#[derive(Clone)]
struct Run {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
}

impl Run {
    fn in_process(&self, store: &Store, bodies: &[Vec<u8>]) -> Result<(), BoxError> {
        for body in bodies.iter().cycle() {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let outcomes = store.collect_batch_json(body)?;
            if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
                return Err(format!("refused: {e}").into());
            }
            self.acked
                .fetch_add(outcomes.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    fn over_http(
        &self,
        addr: &str,
        key: &str,
        bodies: &[Vec<u8>],
        segment: bool,
    ) -> Result<(), BoxError> {
        let (mut writer, mut reader) = connect(addr)?;
        let auth = base64_basic(key);
        for body in bodies.iter().cycle() {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let head = if segment {
                format!(
                    "POST /v1/batch HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                     Content-Encoding: gzip\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
            } else {
                format!(
                    "POST /events/track/bulk HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n",
                    body.len()
                )
            };
            writer.write_all(head.as_bytes())?;
            writer.write_all(body)?;
            let status = read_response(&mut reader)?;
            if status != 200 {
                return Err(format!("status {status}").into());
            }
            self.acked
                .fetch_add(EVENTS_PER_BODY as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Event `i`: a page view or a product event with realistic properties and
/// context (~480 bytes as JSON).
fn properties(i: usize) -> serde_json::Value {
    serde_json::json!({
        "path": format!("/products/{}", i % 997),
        "referrer": "https://www.google.com/search?q=firstlog",
        "title": format!("Product {} - The Example Store", i % 997),
        "url": format!("https://shop.example.com/products/{}?utm_source=news", i % 997),
        "price": (i % 500) as f64 + 0.99,
        "in_stock": !i.is_multiple_of(3),
    })
}

fn context() -> serde_json::Value {
    serde_json::json!({
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "locale": "en-US",
        "ip": "203.0.113.7",
    })
}

fn name(i: usize) -> &'static str {
    [
        "Page Viewed",
        "Product Viewed",
        "Product Added",
        "Checkout Started",
    ][i % 4]
}

/// The events of body `b`: `event(i)` for its global event numbers.
fn body_events(b: usize, event: impl Fn(usize) -> serde_json::Value) -> Vec<serde_json::Value> {
    (0..EVENTS_PER_BODY)
        .map(|j| event(b * EVENTS_PER_BODY + j))
        .collect()
}

/// Firstparty bulk bodies: `{"write_key": K, "batch": [...]}`.
fn firstparty_bodies(key: &str) -> Vec<Vec<u8>> {
    (0..BODIES)
        .map(|b| {
            let batch = body_events(b, |i| {
                serde_json::json!({
                    "event": name(i),
                    "profile_id": format!("user-{}", i % 5000),
                    "timestamp": 1_764_547_200_000i64 + i as i64 * 1000,
                    "properties": properties(i),
                    "context": context(),
                })
            });
            serde_json::to_vec(&serde_json::json!({"write_key": key, "batch": batch}))
                .unwrap_or_default()
        })
        .collect()
}

/// Segment batch bodies (`track` calls), gzipped.
fn segment_bodies() -> Result<Vec<Vec<u8>>, BoxError> {
    (0..BODIES)
        .map(|b| {
            let batch = body_events(b, |i| {
                serde_json::json!({
                    "type": "track",
                    "event": name(i),
                    "userId": format!("user-{}", i % 5000),
                    "timestamp": "2025-12-01T00:00:00.000Z",
                    "properties": properties(i),
                    "context": context(),
                })
            });
            let json = serde_json::to_vec(&serde_json::json!({"batch": batch}))?;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&json)?;
            Ok(gz.finish()?)
        })
        .collect()
}

fn base64_basic(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
}

fn tempdir() -> Result<std::path::PathBuf, BoxError> {
    let dir = std::env::temp_dir().join(format!("bulk-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join("store"))
}
