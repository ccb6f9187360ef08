//! SIGTERM while clients are sending: `firstlog serve` stops accepting, finishes
//! the requests in flight, syncs and closes the store, and exits 0. Every event
//! it acknowledged with a 200 is in the store afterwards (read with the library),
//! each exactly once, and nothing is stored that was not sent.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use crate::support::cli::{Server, store_with_sources};
use crate::support::http::try_post_json;
use crate::support::store::temp;
use firstlog::Store;

const CLIENTS: u64 = 4;
const BATCH: u64 = 25;

#[test]
fn sigterm_loses_no_acknowledged_event() {
    let (_tmp, dir) = temp();
    let sources = store_with_sources(&dir, &["Web App"]);
    let key = sources[0].1.clone();
    // Buffered: what is acknowledged is only in the page cache until close syncs it.
    let mut server = Server::start(&dir, &["--durability", "buffered"]);
    let url = server.url("/events/track/bulk");
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let requests = Arc::new(AtomicU64::new(0));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, key, acked, requests) = (url.clone(), key.clone(), acked.clone(), requests.clone());
            std::thread::spawn(move || {
                let mut attempted = 0u64;
                // Until the server stops answering (bounded, in case it never does).
                for round in 0..10_000u64 {
                    attempted = round + 1;
                    let ids: Vec<String> = (0..BATCH).map(|k| format!("c{c}-r{round}-k{k}")).collect();
                    let items: Vec<String> = ids
                        .iter()
                        .map(|id| format!(r#"{{"event":"Page Viewed","write_key":"{key}","message_id":"{id}"}}"#))
                        .collect();
                    let body = format!("[{}]", items.join(","));
                    let Some(reply) = try_post_json(&url, &body) else {
                        break; // refused or reset: the server is going away
                    };
                    requests.fetch_add(1, Ordering::Relaxed);
                    if reply.status != 200 {
                        continue;
                    }
                    let results = reply.json();
                    let mut acked = acked.lock().unwrap();
                    for (id, r) in ids.iter().zip(results["results"].as_array().unwrap()) {
                        if r["status"] == 200 {
                            acked.insert(id.clone());
                        }
                    }
                }
                attempted
            })
        })
        .collect();

    // Let the clients get going, then stop the server under load.
    let deadline = Instant::now() + Duration::from_secs(120);
    while requests.load(Ordering::Relaxed) < 40 {
        assert!(
            Instant::now() < deadline,
            "the clients made no progress: {}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    server.sigterm();
    let status = server.wait();
    let rounds: Vec<u64> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(
        status.success(),
        "exit {status:?}; stderr: {}",
        server.stderr()
    );
    assert!(server.stderr().contains("synced"), "{}", server.stderr());

    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40 * BATCH as usize / 2,
        "{} acknowledged",
        acked.len()
    );
    let store = Store::open(&dir).unwrap();
    // A clean close leaves nothing to repair (a killed server would leave a tail
    // to recover).
    assert!(store.open_report().is_clean(), "{:?}", store.open_report());
    let mut stored = HashSet::new();
    for event in store.query(firstlog::SourceId(sources[0].0)).iter() {
        let event = event.unwrap();
        let id = event.message_id().unwrap().to_owned();
        assert!(stored.insert(id.clone()), "{id} stored twice");
    }
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {} of {}",
        lost.len(),
        acked.len()
    );
    // Whatever is stored was sent (ids of rounds the clients attempted).
    for id in &stored {
        let c: usize = id[1..id.find('-').unwrap()].parse().unwrap();
        let r: u64 = id[id.find("-r").unwrap() + 2..id.rfind("-k").unwrap()]
            .parse()
            .unwrap();
        assert!(r < rounds[c], "{id} was never sent");
    }
    assert!(store.verify().unwrap().is_clean());
}
