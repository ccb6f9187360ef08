//! Duplicates: a retried `message_id` is stored once and the retry gets the
//! original's seq, per source, inside one batch, across a reopen (the window is
//! rebuilt from the log, from index files after a roll), under concurrent
//! collectors, and never merges different ids whose hashes collide.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::support::store::options;
use crate::support::store::{event_at, mem_store};
use firstlog::testing::MemFs;
use firstlog::testing::SplitMix64;
use firstlog::testing::message_hash;
use firstlog::{NewEvent, Receipt, Source, Store};

fn msg(source: &Source, id: &str) -> NewEvent {
    NewEvent::new("Order Completed", source.write_key()).message_id(id)
}

#[test]
fn a_retry_is_stored_once_and_gets_the_original_seq() {
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    store
        .collect(NewEvent::new("Page Viewed", src.write_key()))
        .unwrap();
    let first = store
        .collect(msg(&src, "m-1").property("attempt", 1))
        .unwrap();
    assert_eq!(first.seq, Some(2));
    assert!(!first.duplicate);
    for attempt in 2..5 {
        // Even with different content, the retry is the same message.
        let retry = store
            .collect(msg(&src, "m-1").property("attempt", attempt))
            .unwrap();
        assert_eq!(
            retry,
            Receipt {
                duplicate: true,
                ..first.clone()
            }
        );
    }
    // Through JSON too.
    let json = format!(
        r#"{{"event": "Order Completed", "write_key": "{}", "message_id": "m-1"}}"#,
        src.write_key()
    );
    let retry = store.collect_json(json.as_bytes()).unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.seq, Some(2));

    assert_eq!(store.last_seq(), 2);
    let e = event_at(&store, 2);
    assert_eq!(e.message_id(), Some("m-1"));
    assert_eq!(
        e.properties().get("attempt").and_then(|v| v.as_i64()),
        Some(1)
    );
    let stats = store.stats();
    assert_eq!(stats.duplicates, 4);
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.dedup_entries, 1);
    // A new id is a new event; no id means no dedup at all.
    assert_eq!(store.collect(msg(&src, "m-2")).unwrap().seq, Some(3));
    for seq in [4, 5] {
        let r = store
            .collect(NewEvent::new("Order Completed", src.write_key()))
            .unwrap();
        assert_eq!(r.seq, Some(seq));
    }
}

#[test]
fn dedup_is_scoped_per_source() {
    let store = mem_store(options());
    let a = store.create_source("Web Application").unwrap();
    let b = store.create_source("Help Desk").unwrap();
    let ra = store.collect(msg(&a, "shared-id")).unwrap();
    let rb = store.collect(msg(&b, "shared-id")).unwrap();
    assert!(!ra.duplicate && !rb.duplicate);
    assert_eq!((ra.seq, rb.seq), (Some(1), Some(2)));
    assert_eq!(store.collect(msg(&a, "shared-id")).unwrap().seq, Some(1));
    assert_eq!(store.collect(msg(&b, "shared-id")).unwrap().seq, Some(2));
    assert_eq!(store.query(a.id()).count().unwrap(), 1);
    assert_eq!(store.query(b.id()).count().unwrap(), 1);
}

#[test]
fn duplicates_inside_one_batch() {
    let store = mem_store(options());
    let a = store.create_source("Web Application").unwrap();
    let b = store.create_source("Help Desk").unwrap();
    let outcomes = store
        .collect_batch(vec![
            msg(&a, "m-1").property("copy", 1),
            msg(&a, "m-1").property("copy", 2),
            msg(&a, "m-2"),
            msg(&b, "m-1"),
            msg(&a, "m-1").property("copy", 3),
            NewEvent::new("Page Viewed", a.write_key()),
        ])
        .unwrap();
    let got: Vec<(Option<u64>, bool)> = outcomes
        .iter()
        .map(|o| {
            let r = o.as_ref().unwrap();
            (r.seq, r.duplicate)
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some(1), false),
            (Some(1), true),
            (Some(2), false),
            (Some(3), false),
            (Some(1), true),
            (Some(4), false),
        ]
    );
    assert_eq!(store.last_seq(), 4);
    assert_eq!(
        event_at(&store, 1)
            .properties()
            .get("copy")
            .and_then(|v| v.as_i64()),
        Some(1),
        "the first copy is the one stored"
    );
    // The same inside a JSON batch, and a later retry of the batch is all duplicates.
    let key = a.write_key();
    let request = format!(
        r#"[{{"event": "Order Completed", "write_key": "{key}", "message_id": "j-1"}},
            {{"event": "Order Completed", "write_key": "{key}", "message_id": "j-1"}},
            {{"event": "Order Completed", "write_key": "{key}", "message_id": "j-2"}}]"#
    );
    let first: Vec<(Option<u64>, bool)> = store
        .collect_batch_json(request.as_bytes())
        .unwrap()
        .iter()
        .map(|o| (o.as_ref().unwrap().seq, o.as_ref().unwrap().duplicate))
        .collect();
    assert_eq!(first, [(Some(5), false), (Some(5), true), (Some(6), false)]);
    let again: Vec<(Option<u64>, bool)> = store
        .collect_batch_json(request.as_bytes())
        .unwrap()
        .iter()
        .map(|o| (o.as_ref().unwrap().seq, o.as_ref().unwrap().duplicate))
        .collect();
    assert_eq!(again, [(Some(5), true), (Some(5), true), (Some(6), true)]);
    assert_eq!(store.last_seq(), 6);
}

#[test]
fn a_refused_original_does_not_shadow_its_retry() {
    // The first copy fails (disabled source); the retry after enabling is stored.
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    store.disable_source(src.id()).unwrap();
    assert!(store.collect(msg(&src, "m-1")).is_err());
    store.enable_source(src.id()).unwrap();
    let r = store.collect(msg(&src, "m-1")).unwrap();
    assert_eq!((r.seq, r.duplicate), (Some(1), false));
    // A batch whose first copy is invalid: the second copy is stored.
    let outcomes = store
        .collect_batch(vec![
            msg(&src, "m-2").property("bad", f64::NAN),
            msg(&src, "m-2"),
        ])
        .unwrap();
    assert!(outcomes[0].is_err());
    let r = outcomes[1].as_ref().unwrap();
    assert_eq!((r.seq, r.duplicate), (Some(2), false));
}

/// Collects ids `0..n` as `prefix-i`, returns their seqs.
fn collect_ids(store: &Store, src: &Source, prefix: &str, n: usize) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let r = store
                .collect(msg(src, &format!("{prefix}-{i}")).property("pad", "x".repeat(300)))
                .unwrap();
            assert!(!r.duplicate);
            r.seq.unwrap()
        })
        .collect()
}

fn assert_all_duplicates(store: &Store, src: &Source, prefix: &str, seqs: &[u64]) {
    for (i, seq) in seqs.iter().enumerate() {
        let r = store.collect(msg(src, &format!("{prefix}-{i}"))).unwrap();
        assert!(r.duplicate, "{prefix}-{i} stored again as {:?}", r.seq);
        assert_eq!(r.seq, Some(*seq), "{prefix}-{i}");
    }
}

#[test]
fn the_window_survives_a_reopen_from_active_and_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (src, sealed, active, last);
    {
        let store = Store::open_with(dir.path(), options()).unwrap();
        src = store.create_source("Web Application").unwrap();
        // Enough to fill several 64 KiB segments: most ids end up in sealed
        // segments (index files), the last ones in the active segment.
        sealed = collect_ids(&store, &src, "sealed", 400);
        store.roll().unwrap();
        active = collect_ids(&store, &src, "active", 20);
        assert!(store.stats().sealed_segments >= 2, "{:?}", store.stats());
        last = store.last_seq();
        store.close().unwrap();
    }
    let has_idx = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "idx")
            })
            .count()
    };
    assert!(has_idx(dir.path()) >= 2, "sealed segments have index files");
    {
        let store = Store::open_with(dir.path(), options()).unwrap();
        assert_eq!(
            store.stats().dedup_entries,
            420,
            "window rebuilt from the log"
        );
        assert_all_duplicates(&store, &src, "sealed", &sealed);
        assert_all_duplicates(&store, &src, "active", &active);
        assert_eq!(store.last_seq(), last);
        assert_eq!(
            store.collect(msg(&src, "fresh")).unwrap().seq,
            Some(last + 1)
        );
        store.close().unwrap();
    }
    // The index is derivable from the segments: without any index file the
    // window is rebuilt all the same.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "idx") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let store = Store::open_with(dir.path(), options()).unwrap();
    assert_all_duplicates(&store, &src, "sealed", &sealed);
    assert_all_duplicates(&store, &src, "active", &active);
    let r = store.collect(msg(&src, "fresh")).unwrap();
    assert_eq!((r.seq, r.duplicate), (Some(last + 1), true));
    assert_eq!(store.last_seq(), last + 1);
}

#[test]
fn different_ids_with_the_same_hash_are_not_merged() {
    // Find two message ids whose 32-bit header hash collides (a birthday search).
    let mut seen: HashMap<u32, String> = HashMap::new();
    let (x, y) = (0u64..)
        .find_map(|i| {
            let id = format!("collide-{i}");
            let h = message_hash(Some(&id));
            seen.insert(h, id.clone()).map(|other| (other, id))
        })
        .unwrap();
    assert_eq!(message_hash(Some(&x)), message_hash(Some(&y)));
    let dir = tempfile::tempdir().unwrap();
    let src;
    {
        let store = Store::open_with(dir.path(), options()).unwrap();
        src = store.create_source("Web Application").unwrap();
        let rx = store.collect(msg(&src, &x)).unwrap();
        let ry = store.collect(msg(&src, &y)).unwrap();
        assert_eq!((rx.seq, rx.duplicate), (Some(1), false));
        assert_eq!(
            (ry.seq, ry.duplicate),
            (Some(2), false),
            "{x} and {y} merged"
        );
        assert_eq!(store.collect(msg(&src, &y)).unwrap().seq, Some(2));
        assert_eq!(store.collect(msg(&src, &x)).unwrap().seq, Some(1));
        store.close().unwrap();
    }
    let store = Store::open_with(dir.path(), options()).unwrap();
    for (id, seq) in [(&y, 2), (&x, 1)] {
        let r = store.collect(msg(&src, id)).unwrap();
        assert_eq!((r.seq, r.duplicate), (Some(seq), true), "{id}");
    }
    assert_eq!(store.last_seq(), 2);
}

#[test]
fn concurrent_collectors_of_the_same_id_store_it_once() {
    const THREADS: u64 = 6;
    const IDS: usize = 60;
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            let src = src.clone();
            std::thread::spawn(move || {
                // Each thread sends every id, in its own (seeded) order, half of them
                // one by one and half in small batches.
                let seed = 0xD00D + t;
                let mut rng = SplitMix64::new(seed);
                let mut ids: Vec<usize> = (0..IDS).collect();
                for i in (1..ids.len()).rev() {
                    ids.swap(i, rng.below(i as u64 + 1) as usize);
                }
                let mut out: Vec<(usize, Receipt)> = Vec::new();
                for chunk in ids.chunks(3) {
                    if t % 2 == 0 {
                        for &i in chunk {
                            let r = store
                                .collect(msg(&src, &format!("m-{i}")).property("t", t))
                                .unwrap();
                            out.push((i, r));
                        }
                    } else {
                        let events = chunk
                            .iter()
                            .map(|i| msg(&src, &format!("m-{i}")).property("t", t))
                            .collect();
                        for (&i, r) in chunk.iter().zip(store.collect_batch(events).unwrap()) {
                            out.push((i, r.unwrap()));
                        }
                    }
                }
                (seed, out)
            })
        })
        .collect();
    let mut by_id: BTreeMap<usize, Vec<Receipt>> = BTreeMap::new();
    let mut seeds = Vec::new();
    for h in handles {
        let (seed, out) = h.join().unwrap();
        seeds.push(seed);
        for (i, r) in out {
            by_id.entry(i).or_default().push(r);
        }
    }
    assert_eq!(store.last_seq(), IDS as u64, "seeds {seeds:?}");
    let mut seqs: Vec<u64> = Vec::new();
    for (i, receipts) in &by_id {
        assert_eq!(receipts.len() as u64, THREADS);
        let originals = receipts.iter().filter(|r| !r.duplicate).count();
        assert_eq!(originals, 1, "m-{i}: seeds {seeds:?}");
        let seq = receipts[0].seq.unwrap();
        assert!(
            receipts.iter().all(|r| r.seq == Some(seq)),
            "m-{i}: {receipts:?}"
        );
        assert_eq!(
            event_at(&store, seq).message_id(),
            Some(format!("m-{i}").as_str())
        );
        seqs.push(seq);
    }
    seqs.sort();
    assert_eq!(seqs, (1..=IDS as u64).collect::<Vec<_>>());
    let stats = store.stats();
    assert_eq!(stats.accepted, IDS as u64);
    assert_eq!(stats.duplicates, IDS as u64 * (THREADS - 1));
}

#[test]
fn the_window_and_capacity_are_configurable() {
    // Capacity: the oldest ids are forgotten first.
    let store = mem_store(options().dedup_capacity(2));
    let src = store.create_source("Web Application").unwrap();
    for id in ["a", "b", "c"] {
        store.collect(msg(&src, id)).unwrap();
    }
    assert_eq!(store.stats().dedup_entries, 2);
    assert!(store.collect(msg(&src, "c")).unwrap().duplicate);
    let r = store.collect(msg(&src, "a")).unwrap();
    assert_eq!((r.seq, r.duplicate), (Some(4), false), "a was forgotten");

    // Window: ids older than the window are forgotten on reopen.
    let fs = MemFs::new();
    let o = options()
        .fs(Arc::new(fs.clone()))
        .dedup_window(Duration::from_millis(50));
    let src;
    {
        let store = Store::open_with("/mem", o.clone()).unwrap();
        src = store.create_source("Web Application").unwrap();
        store.collect(msg(&src, "old")).unwrap();
        store.close().unwrap();
    }
    std::thread::sleep(Duration::from_millis(120));
    let store = Store::open_with("/mem", o).unwrap();
    assert_eq!(store.stats().dedup_entries, 0);
    let r = store.collect(msg(&src, "old")).unwrap();
    assert_eq!((r.seq, r.duplicate), (Some(2), false));
}

#[test]
fn an_id_older_than_the_window_is_stored_again() {
    let store = mem_store(options().dedup_window(Duration::from_millis(50)));
    let src = store.create_source("Web Application").unwrap();
    assert_eq!(store.collect(msg(&src, "m")).unwrap().seq, Some(1));
    // Well past the window (the sleep only guarantees "later", nothing is timed).
    std::thread::sleep(Duration::from_millis(120));
    let r = store.collect(msg(&src, "m")).unwrap();
    assert_eq!((r.seq, r.duplicate), (Some(2), false));
}

#[test]
fn a_retry_gets_the_originals_receipt_when_a_rule_fixed_the_name() {
    // Under Enforce, a rule repairs the name before the check, so the original is
    // stored; its retry (same message id, same raw name) must be recognised as a
    // duplicate, not refused for the raw name the rule would have repaired again.
    let store = mem_store(options());
    store
        .set_naming_policy(None, firstlog::NamingPolicy::Enforce)
        .unwrap();
    store.add_rule(
        firstlog::Scope::All,
        Arc::new(firstlog::FnRule::new(
            "fix names",
            |d: &mut firstlog::Draft| {
                if d.name == "cart-abandoned" {
                    d.name = "Cart Abandoned".to_owned();
                }
                firstlog::Verdict::Keep
            },
        )),
    );
    let src = store.create_source("Web Application").unwrap();
    let event = || NewEvent::new("cart-abandoned", src.write_key()).message_id("m-1");
    let first = store.collect(event()).unwrap();
    assert_eq!((first.seq, first.duplicate), (Some(1), false));
    assert_eq!(event_at(&store, 1).name(), "Cart Abandoned");
    let retry = store.collect(event());
    assert!(
        matches!(&retry, Ok(r) if r.duplicate && r.seq == Some(1)),
        "{retry:?}"
    );
    // The same inside one batch.
    let outcomes = store
        .collect_batch(vec![
            NewEvent::new("cart-abandoned", src.write_key()).message_id("m-2"),
            NewEvent::new("cart-abandoned", src.write_key()).message_id("m-2"),
        ])
        .unwrap();
    assert!(
        matches!(&outcomes[1], Ok(r) if r.duplicate && r.seq == Some(2)),
        "{outcomes:?}"
    );
}

/// Two batches holding each other's message ids ([m1, m2] and [m2, m1]) at the
/// same time neither deadlock nor store an id twice: the call that cannot wait
/// collects its conflicting event again once its own are settled.
#[test]
fn batches_with_crossed_ids_neither_deadlock_nor_duplicate() {
    let store = mem_store(options());
    let src = store.create_source("Web Application").unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    for t in 0..2u64 {
        let (store, src, done) = (store.clone(), src.clone(), done.clone());
        std::thread::spawn(move || {
            for round in 0..200 {
                let (a, b) = (format!("r{round}-a"), format!("r{round}-b"));
                let ids = if t == 0 { [a, b] } else { [b, a] };
                let events = ids.iter().map(|id| msg(&src, id)).collect();
                for outcome in store.collect_batch(events).unwrap() {
                    outcome.unwrap();
                }
            }
            done.send(()).unwrap();
        });
    }
    for _ in 0..2 {
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("collectors of crossed message ids deadlocked");
    }
    assert_eq!(store.last_seq(), 400, "every id stored exactly once");
}
