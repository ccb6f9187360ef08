//! A query costs what its answer costs, not what the store holds: next to a huge
//! source (50,000 events) a small one (50 events spread over every segment) is read
//! by examining only its own index entries (and, with a time range, only those of
//! segments whose summary overlaps it), decoding exactly the events returned; a
//! limit stops the walk early; and `count()` and the index analytics decode nothing
//! (they still answer correctly after every record body of the store is damaged,
//! while reading an event then fails).

use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use firstlog::testing::{HEADER_BYTES, RecordHeader};
use firstlog::{Bucket, Durability, NewEvent, Options, QueryStats, Source, Store};

const HUGE: u64 = 50_000;
const SMALL_EVERY: u64 = 1000;
const BASE_MS: i64 = 1_700_000_000_000;
const SEGMENT_HEADER_BYTES: usize = 64;

fn options() -> Options {
    Options::default()
        .segment_bytes(1 << 20)
        .durability(Durability::Buffered)
}

/// Event `i` of the whole log: every 1000th (plus one) goes to the small source.
fn is_small(i: u64) -> bool {
    i % SMALL_EVERY == 500
}

fn event(huge: &Source, small: &Source, i: u64) -> NewEvent {
    let key = if is_small(i) {
        small.write_key()
    } else {
        huge.write_key()
    };
    NewEvent::new(
        if i.is_multiple_of(5) {
            "Form Submitted"
        } else {
            "Page Viewed"
        },
        key,
    )
    .profile(format!("user-{}", i % 97))
    .timestamp_ms(BASE_MS + i as i64 * 1000)
    .property("i", i)
}

/// The store, written once for all tests of this file: sequence number of event
/// `i` is `i + 1`.
struct Fixture {
    dir: tempfile::TempDir,
    huge: Source,
    small: Source,
    total: u64,
}

fn build() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), options()).unwrap();
    let huge = store.create_source("www Marketing Page").unwrap();
    let small = store.create_source("Help Desk").unwrap();
    let total = HUGE + HUGE / SMALL_EVERY;
    let mut i = 0;
    while i < total {
        let end = (i + 1000).min(total);
        let outcomes = store
            .collect_batch((i..end).map(|k| event(&huge, &small, k)).collect())
            .unwrap();
        assert!(outcomes.iter().all(|o| o.is_ok()));
        i = end;
    }
    store.roll().unwrap();
    store.close().unwrap();
    Fixture {
        dir,
        huge,
        small,
        total,
    }
}

fn segment_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .map(|p| {
            let first = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
            (first, p)
        })
        .collect();
    out.sort();
    out
}

fn small_seqs(total: u64) -> Vec<u64> {
    (0..total).filter(|&i| is_small(i)).map(|i| i + 1).collect()
}

fn ts_of_seq(seq: u64) -> i64 {
    BASE_MS + (seq as i64 - 1) * 1000
}

#[test]
fn query_cost_follows_the_answer() {
    let fx = build();
    let store = Store::open_with(fx.dir.path(), options()).unwrap();
    let segments = segment_files(fx.dir.path());
    assert!(segments.len() >= 5, "{} segments", segments.len());
    let small = small_seqs(fx.total);
    assert_eq!(small.len(), 50);

    // The whole small source: its 50 entries examined, 50 decoded.
    let mut it = store.query(fx.small.id()).iter();
    let seqs: Vec<u64> = it.by_ref().map(|e| e.unwrap().seq()).collect();
    assert_eq!(seqs, small);
    let stats = it.stats();
    eprintln!("small source, whole: {stats:?}");
    assert_eq!(stats.entries_examined, 50);
    assert_eq!(stats.decoded, 50);
    assert!(stats.segments_read <= segments.len() as u64);

    // The same borrowed, and stopping after 3: decodes 3.
    let stats = store
        .query(fx.small.id())
        .for_each(|_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!((stats.entries_examined, stats.decoded), (50, 50));
    let mut n = 0;
    let stats = store
        .query(fx.small.id())
        .for_each(|_| {
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(stats.decoded, 3);

    // A cursor: only the entries after it are examined (binary search).
    let mut it = store.query(fx.small.id()).after(small[39]).iter();
    assert_eq!(it.by_ref().count(), 10);
    assert_eq!(it.stats().entries_examined, 10);
    let mut it = store
        .query(fx.small.id())
        .after(small[10])
        .descending()
        .iter();
    assert_eq!(it.by_ref().count(), 10);
    assert_eq!(it.stats().entries_examined, 10);

    // A time range: only entries of segments whose summary overlaps are examined.
    let (since, until) = (ts_of_seq(small[20]), ts_of_seq(small[22]) + 1);
    let mut it = store.query(fx.small.id()).since(since).until(until).iter();
    let got: Vec<u64> = it.by_ref().map(|e| e.unwrap().seq()).collect();
    assert_eq!(got, small[20..=22]);
    let overlapping: u64 = segments
        .iter()
        .enumerate()
        .map(|(k, (first, _))| {
            let end = segments.get(k + 1).map_or(u64::MAX, |s| s.0);
            let mine: Vec<u64> = small
                .iter()
                .copied()
                .filter(|s| s >= first && *s < end)
                .collect();
            let overlaps = !mine.is_empty()
                && ts_of_seq(*mine.last().unwrap()) >= since
                && ts_of_seq(mine[0]) < until;
            if overlaps { mine.len() as u64 } else { 0 }
        })
        .sum();
    let stats = it.stats();
    eprintln!(
        "small source, 3 in a time range: {stats:?}, entries in overlapping segments {overlapping}"
    );
    assert_eq!(stats.entries_examined, overlapping);
    assert!(stats.entries_examined < 50);
    assert_eq!(stats.decoded, 3);

    // The huge source with a limit: the walk stops after the limit.
    for descending in [false, true] {
        let mut q = store.query(fx.huge.id()).limit(10);
        if descending {
            q = q.descending();
        }
        let mut it = q.iter();
        assert_eq!(it.by_ref().count(), 10);
        let QueryStats {
            segments_read,
            entries_examined,
            decoded,
        } = it.stats();
        assert_eq!(
            (entries_examined, decoded),
            (10, 10),
            "descending {descending}"
        );
        assert_eq!(segments_read, 1);
    }
    // A name filter on the huge source decodes only the matches.
    let mut it = store
        .query(fx.huge.id())
        .name("Form Submitted")
        .since(ts_of_seq(40_001))
        .iter();
    let matches = it.by_ref().count() as u64;
    let want = (40_000..fx.total)
        .filter(|&i| !is_small(i) && i.is_multiple_of(5))
        .count() as u64;
    assert_eq!(matches, want);
    assert_eq!(it.stats().decoded, want);

    // Counts are right.
    assert_eq!(store.query(fx.small.id()).count().unwrap(), 50);
    assert_eq!(store.query(fx.huge.id()).count().unwrap(), HUGE);
    assert_eq!(
        store
            .query(fx.small.id())
            .since(since)
            .until(until)
            .count()
            .unwrap(),
        3
    );
}

/// Flips one byte in the body of every record of every (sealed) segment.
fn damage_every_body(dir: &Path) -> u64 {
    let mut damaged = 0;
    for (_, path) in segment_files(dir) {
        let mut data = fs::read(&path).unwrap();
        let mut pos = SEGMENT_HEADER_BYTES;
        while let Some(h) = data
            .get(pos..)
            .and_then(|t| RecordHeader::read_from(t).ok())
        {
            if h.body_len > 0 {
                data[pos + HEADER_BYTES] ^= 0xff;
                damaged += 1;
            }
            pos += h.padded_len();
        }
        fs::write(&path, data).unwrap();
    }
    damaged
}

#[test]
fn counts_and_analytics_decode_nothing() {
    let fx = build();
    let expect = {
        let store = Store::open_with(fx.dir.path(), options()).unwrap();
        let q = store.query(fx.huge.id()).since(ts_of_seq(10_000));
        (
            store.query(fx.small.id()).count().unwrap(),
            q.count().unwrap(),
            q.count_by_name().unwrap(),
            q.count_by_bucket(Bucket::Hour).unwrap(),
            q.distinct_profiles().unwrap(),
        )
    };
    assert_eq!(expect.0, 50);
    assert_eq!(expect.4, 97);
    assert_eq!(damage_every_body(fx.dir.path()), fx.total);

    // Every body is now damaged: reading any event fails...
    let store = Store::open_with(fx.dir.path(), options()).unwrap();
    let first = store.query(fx.small.id()).iter().next().unwrap();
    assert!(
        matches!(first, Err(ref e) if e.is_corruption()),
        "{first:?}"
    );
    // ...but counting and the analytics read only the index.
    let q = store.query(fx.huge.id()).since(ts_of_seq(10_000));
    let got = (
        store.query(fx.small.id()).count().unwrap(),
        q.count().unwrap(),
        q.count_by_name().unwrap(),
        q.count_by_bucket(Bucket::Hour).unwrap(),
        q.distinct_profiles().unwrap(),
    );
    assert_eq!(got, expect);
    let stats = store.stats();
    assert_eq!(stats.events, fx.total);
    let small_stats = stats
        .sources
        .iter()
        .find(|s| s.source == fx.small.id())
        .unwrap();
    assert_eq!(small_stats.events, 50);
}
