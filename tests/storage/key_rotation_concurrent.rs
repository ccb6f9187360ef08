//! Rotating a write key while collectors hammer its source: every collect either
//! succeeds with a key that was valid at some moment of the call, or fails with
//! `UnknownWriteKey` because the key was retired during or before it; nothing else
//! happens, and the stored events are exactly the successful collects.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

use firstlog::testing::MemFs;
use firstlog::testing::SplitMix64;
use firstlog::{Durability, Error, NewEvent, Options, Store};

const ROTATIONS: usize = 150;
const COLLECTORS: u64 = 3;

/// One key of the source: when the rotation that created it started and ended on
/// the logical clock (0 for the first key).
#[derive(Clone)]
struct KeyVersion {
    key: String,
    start: u64,
    end: u64,
}

/// One collect call: which key version it used, the clock before and after, and
/// whether it succeeded (with the stored event's tag).
struct Attempt {
    version: usize,
    before: u64,
    after: u64,
    stored: Option<(u64, String)>,
}

#[test]
fn collectors_see_old_keys_refused_and_new_keys_accepted() {
    let options = Options::default()
        .segment_bytes(1 << 20)
        .durability(Durability::Buffered)
        .fs(Arc::new(MemFs::new()));
    let store = Store::open_with("/mem", options).unwrap();
    let src = store.create_source("Web Application").unwrap();
    let clock = Arc::new(AtomicU64::new(1));
    let history = Arc::new(RwLock::new(vec![KeyVersion {
        key: src.write_key().to_owned(),
        start: 0,
        end: 0,
    }]));
    let done = Arc::new(AtomicBool::new(false));

    let collectors: Vec<_> = (0..COLLECTORS)
        .map(|t| {
            let (store, clock, history, done) =
                (store.clone(), clock.clone(), history.clone(), done.clone());
            std::thread::spawn(move || {
                let seed = 0x5EED_0000 + t;
                let mut rng = SplitMix64::new(seed);
                let mut attempts = Vec::new();
                let mut n = 0u64;
                while !done.load(Ordering::SeqCst) || attempts.len() < 200 {
                    // Mostly the newest known key; sometimes a stale one.
                    let (version, key) = {
                        let h = history.read();
                        let v = if rng.chance(0.7) {
                            h.len() - 1
                        } else {
                            rng.below(h.len() as u64) as usize
                        };
                        (v, h[v].key.clone())
                    };
                    let batch = t == 2 && rng.chance(0.5);
                    let tags: Vec<String> = (0..if batch { 3 } else { 1 })
                        .map(|_| {
                            n += 1;
                            format!("{t}-{n}")
                        })
                        .collect();
                    let events: Vec<NewEvent> = tags
                        .iter()
                        .map(|tag| NewEvent::new("Page Viewed", &key).property("tag", tag.as_str()))
                        .collect();
                    let before = clock.fetch_add(1, Ordering::SeqCst);
                    let outcomes: Vec<Result<firstlog::Receipt, Error>> = if batch {
                        store.collect_batch(events).unwrap()
                    } else {
                        vec![store.collect(events.into_iter().next().unwrap())]
                    };
                    let after = clock.fetch_add(1, Ordering::SeqCst);
                    let ok = outcomes[0].is_ok();
                    for (tag, outcome) in tags.into_iter().zip(outcomes) {
                        let stored = match outcome {
                            Ok(r) => {
                                assert!(ok, "seed {seed}: a batch half accepted");
                                assert_eq!(r.source, src_id(&store));
                                Some((r.seq.unwrap(), tag))
                            }
                            Err(Error::UnknownWriteKey) => {
                                assert!(!ok, "seed {seed}: a batch half accepted");
                                None
                            }
                            Err(other) => panic!("seed {seed}: unexpected error {other:?}"),
                        };
                        attempts.push(Attempt {
                            version,
                            before,
                            after,
                            stored,
                        });
                    }
                }
                (seed, attempts)
            })
        })
        .collect();

    for _ in 0..ROTATIONS {
        let start = clock.fetch_add(1, Ordering::SeqCst);
        let rotated = store.rotate_write_key(src.id()).unwrap();
        let end = clock.fetch_add(1, Ordering::SeqCst);
        history.write().push(KeyVersion {
            key: rotated.write_key().to_owned(),
            start,
            end,
        });
        std::thread::yield_now();
    }
    done.store(true, Ordering::SeqCst);

    let history = history.read().clone();
    let mut all = Vec::new();
    for c in collectors {
        let (seed, attempts) = c.join().unwrap();
        all.extend(attempts.into_iter().map(|a| (seed, a)));
    }

    // Each check uses only what the clock proves about the order of calls.
    let mut successes = 0u64;
    let mut failures = 0u64;
    for (seed, a) in &all {
        let next = history.get(a.version + 1);
        match &a.stored {
            Some(_) => {
                successes += 1;
                // The key was current at some moment of the call: the rotation that
                // retired it had not finished before the call began.
                if let Some(next) = next {
                    assert!(
                        a.before < next.end,
                        "seed {seed}: key version {} accepted after it was rotated away",
                        a.version
                    );
                }
            }
            None => {
                failures += 1;
                // Refused: the rotation retiring it had begun before the call ended.
                let next = next.unwrap_or_else(|| {
                    panic!(
                        "seed {seed}: the current key (version {}) was refused",
                        a.version
                    )
                });
                assert!(
                    next.start < a.after,
                    "seed {seed}: key version {} refused before it was rotated away",
                    a.version
                );
            }
        }
    }
    assert_eq!(successes + failures, all.len() as u64);
    assert!(
        successes > 0 && failures > 0,
        "{successes} ok, {failures} refused"
    );

    // Counts add up: the stored events are exactly the successful collects.
    assert_eq!(store.last_seq(), successes);
    assert_eq!(store.query(src.id()).count().unwrap(), successes);
    let mut expected: Vec<(u64, String)> =
        all.iter().filter_map(|(_, a)| a.stored.clone()).collect();
    expected.sort();
    let stored: Vec<(u64, String)> = store
        .read_from(1)
        .map(|e| {
            let e = e.unwrap();
            let tag = e
                .properties()
                .get("tag")
                .and_then(|v| v.as_str())
                .unwrap()
                .to_owned();
            (e.seq(), tag)
        })
        .collect();
    assert_eq!(stored, expected);

    // Afterwards only the last key works, and every key was fresh.
    let keys: HashSet<&str> = history.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys.len(), ROTATIONS + 1);
    let current = store.source(src.id()).unwrap();
    assert_eq!(current.write_key(), history.last().unwrap().key);
    for v in &history[..ROTATIONS] {
        assert!(matches!(
            store.collect(NewEvent::new("Page Viewed", &v.key)),
            Err(Error::UnknownWriteKey)
        ));
    }
    store
        .collect(NewEvent::new("Page Viewed", current.write_key()))
        .unwrap();
}

fn src_id(store: &Store) -> firstlog::SourceId {
    store.sources()[0].id()
}
