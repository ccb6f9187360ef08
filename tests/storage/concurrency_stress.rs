//! Writers on every core, a tailing log reader, a query loop and a roller hammer one
//! store on the real file system for a bounded time: readers never see a partial or
//! foreign record, sequence numbers strictly increase with no gap, and per-source
//! counts match exactly what was acknowledged — live, and again after a reopen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::store::options;
use firstlog::{Durability, Event, NewEvent, SourceId, Store};

/// How long each durability mode is hammered (the whole file runs about 3 s).
const RUN: Duration = Duration::from_millis(1400);
const SOURCES: usize = 3;

/// The payload of event `uid`: its length and content are a function of the uid,
/// so a torn, mixed or misplaced record cannot pass for a complete one.
fn body(uid: u64) -> String {
    let len = 20 + (uid.wrapping_mul(2_654_435_761) % 700) as usize;
    (0..len)
        .map(|i| char::from(b'a' + ((uid as usize + i * 7) % 26) as u8))
        .collect()
}

fn event(key: &str, uid: u64) -> NewEvent {
    NewEvent::new(["Page Viewed", "Button Clicked"][(uid % 2) as usize], key)
        .timestamp_ms(1_700_000_000_000 + uid as i64)
        .property("uid", uid)
        .property("body", body(uid))
}

/// Checks that an event is exactly what some writer sent; returns its uid.
fn check_event(e: &Event) -> u64 {
    let uid = e
        .properties()
        .get("uid")
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| panic!("event {} has no uid", e.seq())) as u64;
    assert_eq!(
        e.properties().get("body").and_then(|v| v.as_str()),
        Some(body(uid).as_str()),
        "event {} (uid {uid}) is not what was written",
        e.seq()
    );
    assert_eq!(e.timestamp(), 1_700_000_000_000 + uid as i64);
    uid
}

/// What one writer had acknowledged: seq -> (source, uid).
type Acked = BTreeMap<u64, (SourceId, u64)>;

fn hammer(durability: Durability) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), options().durability(durability)).unwrap();
    let sources: Vec<_> = (0..SOURCES)
        .map(|i| store.create_source(&format!("Source {i}")).unwrap())
        .collect();
    let writers = thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let stop = Arc::new(AtomicBool::new(false));
    let next_uid = Arc::new(AtomicU64::new(1));
    let reads = Arc::new(AtomicU64::new(0));
    let queries = Arc::new(AtomicU64::new(0));
    let rolls = Arc::new(AtomicU64::new(0));

    let acked: Vec<Acked> = thread::scope(|s| {
        // Writers: singles and batches over every source.
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (store, sources, stop, next_uid) = (&store, &sources, &stop, &next_uid);
                s.spawn(move || {
                    let mut acked = Acked::new();
                    let mut round = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        round += 1;
                        let source = &sources[(round as usize + w) % SOURCES];
                        if round.is_multiple_of(4) {
                            let n = 1 + round % 40;
                            let first = next_uid.fetch_add(n, Ordering::Relaxed);
                            let events = (first..first + n)
                                .map(|uid| event(source.write_key(), uid))
                                .collect();
                            let receipts = store.collect_batch(events).unwrap();
                            let mut prev = None;
                            for (uid, r) in (first..first + n).zip(receipts) {
                                let seq = r.unwrap().seq.unwrap();
                                // A batch gets contiguous sequence numbers.
                                assert!(prev.is_none_or(|p| p + 1 == seq));
                                prev = Some(seq);
                                assert!(acked.insert(seq, (source.id(), uid)).is_none());
                            }
                        } else {
                            let uid = next_uid.fetch_add(1, Ordering::Relaxed);
                            let seq = store
                                .collect(event(source.write_key(), uid))
                                .unwrap()
                                .seq
                                .unwrap();
                            assert!(acked.insert(seq, (source.id(), uid)).is_none());
                        }
                    }
                    acked
                })
            })
            .collect();

        // A tailing reader: every event, in order, complete.
        {
            let (store, stop, reads) = (&store, &stop, &reads);
            s.spawn(move || {
                let mut next = 1;
                loop {
                    let done = stop.load(Ordering::Acquire);
                    for e in store.read_from(next) {
                        let e = e.unwrap();
                        assert_eq!(e.seq(), next, "the log reader skipped or repeated");
                        check_event(&e);
                        next += 1;
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                    if done {
                        break;
                    }
                    store.wait_for(next, Duration::from_millis(20));
                }
            });
        }

        // A query loop: per source, ascending and descending, zero-copy and owned.
        {
            let (store, sources, stop, queries) = (&store, &sources, &stop, &queries);
            s.spawn(move || {
                let mut counts = [0u64; SOURCES];
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let k = i % SOURCES;
                    let id = sources[k].id();
                    let count = store.query(id).count().unwrap();
                    assert!(count >= counts[k], "a count went backwards");
                    counts[k] = count;
                    let mut last = 0;
                    let mut seen = 0u64;
                    store
                        .query(id)
                        .for_each(|e| {
                            assert!(e.seq() > last, "query order");
                            assert_eq!(e.source(), id);
                            last = e.seq();
                            check_event(&e.to_owned_event().unwrap());
                            seen += 1;
                            std::ops::ControlFlow::Continue(())
                        })
                        .unwrap();
                    // The query's snapshot is at least as new as the count before it.
                    assert!(seen >= count, "a query saw less than an earlier count");
                    let desc: Vec<Event> = store
                        .query(id)
                        .descending()
                        .limit(25)
                        .iter()
                        .collect::<Result<_, _>>()
                        .unwrap();
                    assert!(desc.windows(2).all(|w| w[0].seq() > w[1].seq()));
                    desc.iter().for_each(|e| {
                        check_event(e);
                    });
                    queries.fetch_add(1, Ordering::Relaxed);
                }
            });
        }

        // A roller: explicit rolls on top of the rolls by size.
        {
            let (store, stop, rolls) = (&store, &stop, &rolls);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(15));
                    store.roll().unwrap();
                    rolls.fetch_add(1, Ordering::Relaxed);
                }
            });
        }

        let start = Instant::now();
        while start.elapsed() < RUN {
            thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Release);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    // Every acknowledged seq is unique across writers, and together they are 1..=last.
    let mut all = Acked::new();
    for a in &acked {
        for (&seq, &v) in a {
            assert!(all.insert(seq, v).is_none(), "seq {seq} given twice");
        }
    }
    let last = store.last_seq();
    assert_eq!(all.len() as u64, last, "acknowledged seqs are not 1..=last");
    assert_eq!(all.keys().next(), Some(&1));
    assert_eq!(all.keys().next_back(), Some(&last));
    let check_store = |store: &Store| {
        for source in &sources {
            let expected = all.values().filter(|(s, _)| *s == source.id()).count() as u64;
            assert_eq!(store.query(source.id()).count().unwrap(), expected);
        }
        let mut n = 0;
        for e in store.read_from(1) {
            let e = e.unwrap();
            let (source, uid) = all[&e.seq()];
            assert_eq!((e.source(), check_event(&e)), (source, uid));
            n += 1;
        }
        assert_eq!(n, last);
    };
    check_store(&store);
    let stats = store.stats();
    println!(
        "{durability:?}: {writers} writers, {last} events acknowledged, {} segments, {} rolls, \
         {} tailed reads, {} query rounds",
        stats.segments,
        rolls.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed),
        queries.load(Ordering::Relaxed)
    );
    assert!(stats.segments > 3, "no rolls happened: {stats:?}");
    store.close().unwrap();
    drop(store);
    let store = Store::open_with(dir.path(), options().durability(durability)).unwrap();
    assert!(store.open_report().is_clean(), "{:?}", store.open_report());
    check_store(&store);
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn buffered_writers_readers_queries_and_rolls() {
    hammer(Durability::Buffered);
}

#[test]
fn sync_writers_share_fsyncs_under_readers_and_rolls() {
    hammer(Durability::Sync);
}
