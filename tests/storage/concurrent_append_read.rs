//! Four appender threads (single events and batches, three sources) and two reader
//! threads (queries and `read_from`) run at once on 64 KiB segments, under every
//! durability mode: every acknowledged record reads back intact, sequence numbers
//! strictly increase, batches get contiguous sequence numbers, the acknowledged
//! sequence numbers have no gaps, a reader sees everything acknowledged before it
//! started, and all of it holds again after a reopen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::support::store::{Disk, options};
use firstlog::testing::SplitMix64;
use firstlog::{Durability, Event, Map, NewEvent, Source, Store};
use parking_lot::Mutex;

const WRITERS: u32 = 4;
const READERS: u64 = 2;
const SOURCES: usize = 3;
const PER_WRITER: u32 = 600;
const BASE_MS: i64 = 1_700_000_000_000;
const NAMES: [&str; 4] = [
    "Page Viewed",
    "Button Clicked",
    "Form Submitted",
    "Cart Abandoned",
];

/// Acknowledged events: seq -> (writer, n). Every entry was acknowledged before
/// it was inserted.
type Acked = Arc<Mutex<BTreeMap<u64, (u32, u32)>>>;

/// Which source event `n` of `writer` goes to.
fn source_of(writer: u32, n: u32) -> usize {
    ((writer + n / 3) as usize) % SOURCES
}

fn pad(writer: u32, n: u32) -> String {
    let len = 20 + (n as usize * 37 + writer as usize * 11) % 400;
    let unit = format!("{writer}:{n};");
    unit.repeat(len / unit.len() + 1)[..len].to_owned()
}

fn properties(writer: u32, n: u32) -> Map {
    let mut m = Map::new();
    m.insert("writer", writer);
    m.insert("n", n);
    m.insert("pad", pad(writer, n));
    m.insert("ratio", f64::from(n) / 7.0);
    m
}

fn new_event(sources: &[Source], writer: u32, n: u32) -> NewEvent {
    let source = &sources[source_of(writer, n)];
    NewEvent::new(NAMES[((writer + n) % 4) as usize], source.write_key())
        .profile(format!("p{}", (writer * 7 + n) % 11))
        .timestamp_ms(BASE_MS + i64::from(n) * 1000 + i64::from(writer))
        .properties(properties(writer, n))
        .context_field("locale", "en-US")
}

/// Checks that `e` is exactly event (writer, n) as it was collected; returns them.
fn check_intact(sources: &[Source], e: &Event) -> (u32, u32) {
    let props = e.properties();
    let writer = props.get("writer").and_then(|v| v.as_i64());
    let n = props.get("n").and_then(|v| v.as_i64());
    let (Some(writer), Some(n)) = (writer, n) else {
        panic!("seq {}: missing writer/n in {:?}", e.seq(), e.to_json());
    };
    let (writer, n) = (writer as u32, n as u32);
    let expected = properties(writer, n);
    assert_eq!(
        &props.to_owned_map(),
        &expected,
        "seq {}: properties",
        e.seq()
    );
    assert_eq!(
        e.name(),
        NAMES[((writer + n) % 4) as usize],
        "seq {}",
        e.seq()
    );
    assert_eq!(
        e.profile_id(),
        Some(format!("p{}", (writer * 7 + n) % 11).as_str()),
        "seq {}",
        e.seq()
    );
    assert_eq!(
        e.timestamp(),
        BASE_MS + i64::from(n) * 1000 + i64::from(writer),
        "seq {}",
        e.seq()
    );
    assert_eq!(
        e.source(),
        sources[source_of(writer, n)].id(),
        "seq {}",
        e.seq()
    );
    assert_eq!(
        e.context().get("locale").and_then(|v| v.as_str()),
        Some("en-US")
    );
    (writer, n)
}

fn record(acked: &Acked, max_acked: &AtomicU64, seq: u64, writer: u32, n: u32) {
    let previous = acked.lock().insert(seq, (writer, n));
    assert!(previous.is_none(), "seq {seq} acknowledged twice");
    max_acked.fetch_max(seq, Ordering::SeqCst);
}

fn writer_thread(
    store: Store,
    sources: Vec<Source>,
    writer: u32,
    acked: Acked,
    max_acked: Arc<AtomicU64>,
) {
    let mut rng = SplitMix64::new(0xC0FFEE ^ u64::from(writer));
    let mut n = 0u32;
    let mut last_seq = 0u64;
    while n < PER_WRITER {
        let size = if rng.chance(0.5) {
            1
        } else {
            (2 + rng.below(24) as u32).min(PER_WRITER - n)
        };
        if size == 1 {
            let receipt = store
                .collect(new_event(&sources, writer, n))
                .unwrap_or_else(|e| panic!("writer {writer}: collect failed: {e}"));
            let seq = receipt.seq.expect("no rule drops anything");
            assert!(
                seq > last_seq,
                "writer {writer}: seq {seq} after {last_seq}"
            );
            last_seq = seq;
            record(&acked, &max_acked, seq, writer, n);
        } else {
            let events: Vec<NewEvent> = (n..n + size)
                .map(|k| new_event(&sources, writer, k))
                .collect();
            let outcomes = if rng.chance(0.5) {
                store.collect_batch(events)
            } else {
                store.collect_batch_from(&events)
            }
            .unwrap_or_else(|e| panic!("writer {writer}: batch failed: {e}"));
            assert_eq!(outcomes.len(), size as usize);
            let seqs: Vec<u64> = outcomes
                .iter()
                .map(|o| o.as_ref().expect("valid event").seq.expect("stored"))
                .collect();
            assert!(
                seqs[0] > last_seq,
                "writer {writer}: batch after {last_seq}"
            );
            assert!(
                seqs.windows(2).all(|w| w[0] + 1 == w[1]),
                "writer {writer}: batch not contiguous: {seqs:?}"
            );
            last_seq = seqs[seqs.len() - 1];
            for (k, seq) in seqs.into_iter().enumerate() {
                record(&acked, &max_acked, seq, writer, n + k as u32);
            }
        }
        n += size;
    }
}

fn reader_thread(
    store: Store,
    sources: Vec<Source>,
    reader: u64,
    acked: Acked,
    max_acked: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> u64 {
    let mut rng = SplitMix64::new(0xBEEF + reader);
    let mut rounds = 0u64;
    loop {
        // Read `done` first: a last round after the writers finished sees it all.
        let finished = done.load(Ordering::SeqCst);
        rounds += 1;

        // 1. The log in order, from a random point: contiguous, intact, and at
        //    least up to everything acknowledged before the read began.
        let max = max_acked.load(Ordering::SeqCst);
        let from = 1 + rng.below(max.max(1));
        let mut expected = from;
        for e in store.read_from(from) {
            let e = e.unwrap_or_else(|e| panic!("reader {reader}: read_from({from}): {e}"));
            assert_eq!(
                e.seq(),
                expected,
                "reader {reader}: read_from({from}) skipped"
            );
            check_intact(&sources, &e);
            expected += 1;
        }
        assert!(
            expected > max,
            "reader {reader}: read_from({from}) ended at {} but {max} was acknowledged",
            expected - 1
        );

        // 2. One source through a query: strictly increasing, intact, and holding
        //    every acknowledged event of the source.
        let s = rng.below(SOURCES as u64) as usize;
        let id = sources[s].id();
        let snapshot: Vec<u64> = acked
            .lock()
            .iter()
            .filter(|(_, (w, n))| source_of(*w, *n) == s)
            .map(|(seq, _)| *seq)
            .collect();
        let mut seen = Vec::new();
        for e in store.query(id).iter() {
            let e = e.unwrap_or_else(|e| panic!("reader {reader}: query: {e}"));
            assert_eq!(e.source(), id);
            check_intact(&sources, &e);
            if let Some(&last) = seen.last() {
                assert!(e.seq() > last, "reader {reader}: {} after {last}", e.seq());
            }
            seen.push(e.seq());
        }
        for seq in &snapshot {
            assert!(
                seen.binary_search(seq).is_ok(),
                "reader {reader}: acknowledged seq {seq} of source {s} missing from a query"
            );
        }
        let count = store.query(id).count().unwrap();
        assert!(count >= snapshot.len() as u64);

        // 3. Newest first, borrowed: strictly decreasing.
        let mut last = u64::MAX;
        let stats = store
            .query(id)
            .descending()
            .limit(40)
            .for_each(|e| {
                assert!(e.seq() < last, "descending order broken");
                last = e.seq();
                check_intact(&sources, &e.to_owned_event().unwrap());
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        if let Some(&newest) = snapshot.last() {
            assert!(stats.decoded > 0);
            assert!(
                seen.last().copied().unwrap_or(0) >= newest,
                "newest acknowledged event missing"
            );
        }
        if finished {
            return rounds;
        }
    }
}

/// Everything in the store equals the model: the log in order, every source's
/// events ascending and descending, counts, and per-writer order.
fn check_all(store: &Store, sources: &[Source], model: &BTreeMap<u64, (u32, u32)>) {
    let total = model.len() as u64;
    let all: Vec<Event> = store.read_from(1).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len() as u64, total);
    for (e, (seq, who)) in all.iter().zip(model) {
        assert_eq!(e.seq(), *seq);
        assert_eq!(check_intact(sources, e), *who, "seq {seq}");
    }
    for (s, source) in sources.iter().enumerate() {
        let want: Vec<u64> = model
            .iter()
            .filter(|(_, (w, n))| source_of(*w, *n) == s)
            .map(|(seq, _)| *seq)
            .collect();
        let got: Vec<u64> = store
            .query(source.id())
            .iter()
            .map(|e| e.unwrap().seq())
            .collect();
        assert_eq!(got, want, "source {s}");
        let mut down: Vec<u64> = store
            .query(source.id())
            .descending()
            .iter()
            .map(|e| e.unwrap().seq())
            .collect();
        down.reverse();
        assert_eq!(down, want, "source {s} descending");
        assert_eq!(store.query(source.id()).count().unwrap(), want.len() as u64);
    }
    // Each writer's events were acknowledged in its own order.
    for writer in 0..WRITERS {
        let ns: Vec<u32> = model
            .values()
            .filter(|(w, _)| *w == writer)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(ns, (0..PER_WRITER).collect::<Vec<_>>(), "writer {writer}");
    }
}

fn run(durability: Durability) {
    for disk in Disk::both() {
        let store = disk.open(options().durability(durability));
        let sources: Vec<Source> = ["www Marketing Page", "Help Desk", "Web App"]
            .iter()
            .map(|name| store.create_source(name).unwrap())
            .collect();
        let acked: Acked = Arc::default();
        let max_acked = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (store, sources, acked, max) = (
                    store.clone(),
                    sources.clone(),
                    acked.clone(),
                    max_acked.clone(),
                );
                std::thread::spawn(move || writer_thread(store, sources, w, acked, max))
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (store, sources, acked, max, done) = (
                    store.clone(),
                    sources.clone(),
                    acked.clone(),
                    max_acked.clone(),
                    done.clone(),
                );
                std::thread::spawn(move || reader_thread(store, sources, r, acked, max, done))
            })
            .collect();
        for w in writers {
            w.join().expect("writer panicked");
        }
        done.store(true, Ordering::SeqCst);
        let rounds: Vec<u64> = readers
            .into_iter()
            .map(|r| r.join().expect("reader panicked"))
            .collect();
        assert!(rounds.iter().all(|&r| r >= 1));
        eprintln!("{durability:?}: reader rounds {rounds:?}");

        let model = acked.lock().clone();
        let total = u64::from(WRITERS * PER_WRITER);
        assert_eq!(model.len() as u64, total);
        assert_eq!(
            model.keys().copied().collect::<Vec<_>>(),
            (1..=total).collect::<Vec<_>>(),
            "acknowledged sequence numbers have gaps"
        );
        assert_eq!(store.last_seq(), total);
        let stats = store.stats();
        assert!(
            stats.segments >= 5,
            "expected several rolls, got {} segments",
            stats.segments
        );
        assert_eq!(stats.events, total);
        check_all(&store, &sources, &model);
        store.close().unwrap();
        drop(store);

        let store = disk.open(options().durability(durability));
        assert!(store.open_report().is_clean(), "{:?}", store.open_report());
        assert_eq!(store.open_report().records, total);
        check_all(&store, &sources, &model);
        let report = store.verify().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        assert_eq!(report.records, total);
        let next = store
            .collect(new_event(&sources, 0, PER_WRITER))
            .unwrap()
            .seq;
        assert_eq!(next, Some(total + 1), "appends continue after a reopen");
        store.close().unwrap();
    }
}

#[test]
fn concurrent_appenders_and_readers_buffered() {
    run(Durability::Buffered);
}

#[test]
fn concurrent_appenders_and_readers_interval() {
    run(Durability::Interval(Duration::from_millis(5)));
}

#[test]
fn concurrent_appenders_and_readers_sync() {
    run(Durability::Sync);
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Store>();
}
