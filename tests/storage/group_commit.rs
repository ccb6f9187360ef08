//! Under `Durability::Sync`, appenders that arrive while an fdatasync runs are
//! committed together by ONE following fdatasync (group commit), and each returns
//! only after the sync that covers it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::fs::{HookedFs, SyncGate};
use firstlog::testing::MemFs;
use firstlog::{Durability, NewEvent, Options, Store};

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting until {what}");
}

#[test]
fn appenders_arriving_during_a_sync_share_the_next_one() {
    let fs = HookedFs::new(MemFs::new(), SyncGate::default());
    let gate = fs.hooks.clone();
    let options = Options::default()
        .segment_bytes(1 << 20)
        .durability(Durability::Sync)
        .fs(Arc::new(fs));
    let store = Store::open_with("/store", options).unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();
    let syncs_before = gate.syncs.load(Ordering::SeqCst);

    gate.set(true);
    let acked = Arc::new(AtomicUsize::new(0));
    let first = {
        let (store, key, acked) = (store.clone(), key.clone(), acked.clone());
        std::thread::spawn(move || {
            let r = store.collect(NewEvent::new("Page Viewed", key)).unwrap();
            acked.fetch_add(1, Ordering::SeqCst);
            r.seq
        })
    };
    // The first appender leads a sync and is held at the gate.
    wait_until("the first sync is at the gate", || {
        gate.waiting.load(Ordering::SeqCst) == 1
    });
    let others: Vec<_> = (0..5)
        .map(|i| {
            let (store, key, acked) = (store.clone(), key.clone(), acked.clone());
            std::thread::spawn(move || {
                let r = store
                    .collect(NewEvent::new("Button Clicked", key).property("i", i))
                    .unwrap();
                acked.fetch_add(1, Ordering::SeqCst);
                r.seq
            })
        })
        .collect();
    // Give the five time to queue up; none may return before a sync covers it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        acked.load(Ordering::SeqCst),
        0,
        "an append returned before its sync"
    );
    assert_eq!(gate.syncs.load(Ordering::SeqCst), syncs_before + 1);
    gate.set(false);
    assert_eq!(first.join().unwrap(), Some(1));
    let mut seqs: Vec<u64> = others
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![2, 3, 4, 5, 6]);
    // One sync for the first appender, ONE more for the five that queued behind it.
    assert_eq!(gate.syncs.load(Ordering::SeqCst), syncs_before + 2);
    assert_eq!(store.stats().synced_seq, 6);
}
