//! A small load generator for `firstlog serve`: N clients, each on one
//! keep-alive connection, POST single events to `/events/track` one after the
//! other for a set time; prints the acknowledged rate. Plain std (no HTTP
//! library), so that the client costs little next to the server.
//!
//! ```sh
//! firstlog --data /tmp/load init && firstlog --data /tmp/load source create Load
//! firstlog --data /tmp/load serve --durability sync --addr 127.0.0.1:8080 &
//! cargo run --release --example http_load -- 127.0.0.1:8080 wk_... 64 10
//! ```
//!
//! Arguments: ADDR WRITE_KEY [CLIENTS=8] [SECONDS=10]. Exits 1 if any request
//! failed.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/http1.rs"]
mod http1;
use http1::{connect, read_response};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(addr), Some(key)) = (args.first(), args.get(1)) else {
        return Err("usage: http_load ADDR WRITE_KEY [CLIENTS] [SECONDS]".into());
    };
    let clients: usize = args.get(2).map_or(Ok(8), |s| s.parse())?;
    let seconds: u64 = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (addr, key) = (addr.clone(), key.clone());
            let (stop, acked, failed) = (stop.clone(), acked.clone(), failed.clone());
            std::thread::spawn(move || {
                if let Err(e) = client(&addr, &key, c, &stop, &acked) {
                    eprintln!("client {c}: {e}");
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    let secs = started.elapsed().as_secs_f64();
    let n = acked.load(Ordering::Relaxed);
    println!(
        "{clients} clients, {secs:.1} s: {n} events acknowledged, {:.0} events/s",
        n as f64 / secs
    );
    if failed.load(Ordering::Relaxed) > 0 {
        return Err("some clients failed".into());
    }
    Ok(())
}

/// One client: single-event POSTs on one keep-alive connection until `stop`.
fn client(
    addr: &str,
    key: &str,
    c: usize,
    stop: &AtomicBool,
    acked: &AtomicU64,
) -> Result<(), BoxError> {
    let (mut writer, mut reader) = connect(addr)?;
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let body = format!(
            r#"{{"event":"Load Tested","write_key":"{key}","message_id":"c{c}-{i}","properties":{{"i":{i}}}}}"#
        );
        write!(
            writer,
            "POST /events/track HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let status = read_response(&mut reader)?;
        if status != 200 {
            return Err(format!("status {status}").into());
        }
        acked.fetch_add(1, Ordering::Relaxed);
        i += 1;
    }
    Ok(())
}
