//! Group commit across HTTP requests: under `Durability::Sync`, single-event
//! requests that arrive while an fdatasync runs are collected together and
//! share the following fdatasyncs, and each is answered 200 only after the
//! sync that covers it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::fs::{HookedFs, SyncGate};
use crate::support::http::{Collector, basic, post, post_json};
use firstlog::http::HttpConfig;
use firstlog::testing::MemFs;
use firstlog::{Durability, Options, Store};

const CLIENTS: usize = 40;

#[test]
fn concurrent_requests_share_fdatasyncs() {
    let fs = HookedFs::new(MemFs::new(), SyncGate::default());
    let gate = fs.hooks.clone();
    let options = Options::default()
        .durability(Durability::Sync)
        .fs(Arc::new(fs));
    let store = Store::open_with("/mem", options).unwrap();
    let key = store.create_source("Web").unwrap().write_key().to_owned();
    let server = Collector::start(store, HttpConfig::default());
    gate.set(true);
    let baseline = gate.syncs.load(Ordering::SeqCst);
    // One request holds the first sync at the gate; the others arrive meanwhile.
    let send = |i: usize| {
        let url = server.url(if i.is_multiple_of(2) {
            "/events/track"
        } else {
            "/v1/track"
        });
        let key = key.clone();
        std::thread::spawn(move || {
            if url.ends_with("/v1/track") {
                let body = format!(r#"{{"event":"A B","userId":"u{i}","messageId":"m{i}"}}"#);
                post(&url, &[("Authorization", &basic(&key))], body.as_bytes()).status
            } else {
                let body = format!(r#"{{"event":"A B","write_key":"{key}","message_id":"m{i}"}}"#);
                post_json(&url, &body).status
            }
        })
    };
    let first = send(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while gate.waiting.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the first request never reached its sync"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let others: Vec<_> = (1..CLIENTS).map(send).collect();
    std::thread::sleep(Duration::from_millis(800)); // let them arrive and queue
    assert!(
        others.iter().all(|t| !t.is_finished()),
        "answered before its sync"
    );
    gate.set(false);
    assert_eq!(first.join().unwrap(), 200);
    for t in others {
        assert_eq!(t.join().unwrap(), 200);
    }
    let syncs = gate.syncs.load(Ordering::SeqCst) - baseline;
    assert!(
        syncs < CLIENTS / 4,
        "{CLIENTS} requests took {syncs} fdatasyncs: they did not share them"
    );
}
