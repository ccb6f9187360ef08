//! What each durability mode promises for a power loss, checked on the simulated
//! disk: `Interval(d)` syncs on its own (no call needed), `Buffered` keeps exactly
//! what `sync()` covered, `Sync` keeps every acknowledged event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use firstlog::testing::{CrashMode, MemFs};
use firstlog::{Durability, NewEvent, Options, Store};

fn options(mem: &MemFs, durability: Durability) -> Options {
    Options::default()
        .segment_bytes(64 << 10)
        .durability(durability)
        .fs(Arc::new(mem.clone()))
}

fn collect(store: &Store, key: &str, range: std::ops::Range<u64>) {
    for i in range {
        store
            .collect(NewEvent::new("Page Viewed", key).property("i", i))
            .unwrap();
    }
}

/// The `i` properties of every event after a power loss now.
fn survivors(mem: &MemFs, seed: u64) -> Vec<i64> {
    let crashed = mem.crash(CrashMode::DropAll, seed);
    let store = Store::open_with("/store", options(&crashed, Durability::Buffered)).unwrap();
    store
        .read_from(1)
        .map(|e| {
            e.unwrap()
                .properties()
                .get("i")
                .and_then(|v| v.as_i64())
                .unwrap()
        })
        .collect()
}

#[test]
fn interval_mode_syncs_without_being_asked() {
    let mem = MemFs::new();
    let store = Store::open_with(
        "/store",
        options(&mem, Durability::Interval(Duration::from_millis(20))),
    )
    .unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();
    collect(&store, &key, 0..50);
    // No sync() call: wait (bounded, not timed) for the background thread.
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.stats().synced_seq < store.last_seq() {
        assert!(Instant::now() < deadline, "the interval sync never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(survivors(&mem, 1), (0..50).collect::<Vec<_>>());
}

#[test]
fn buffered_mode_keeps_what_sync_covered() {
    let mem = MemFs::new();
    let store = Store::open_with("/store", options(&mem, Durability::Buffered)).unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();
    collect(&store, &key, 0..30);
    store.sync().unwrap();
    collect(&store, &key, 30..40);
    // Nothing syncs the last ten (no roll: they fit the segment), so a power loss
    // that drops every unsynced write keeps exactly the first thirty.
    assert_eq!(store.stats().segments, 1);
    assert_eq!(survivors(&mem, 2), (0..30).collect::<Vec<_>>());
    store.sync().unwrap();
    assert_eq!(survivors(&mem, 3), (0..40).collect::<Vec<_>>());
}

#[test]
fn sync_mode_keeps_every_acknowledged_event() {
    let mem = MemFs::new();
    let store = Store::open_with("/store", options(&mem, Durability::Sync)).unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();
    collect(&store, &key, 0..25);
    assert_eq!(survivors(&mem, 4), (0..25).collect::<Vec<_>>());
}
