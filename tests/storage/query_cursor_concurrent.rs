//! Paging with `after(cursor)` while writers append (on 64 KiB segments, so the
//! pages cross segment rolls) skips and repeats nothing: ascending pagers end with
//! exactly every event of their source (with and without a name filter), a
//! descending pager walks back through exactly every event up to its first page.
//! Queries running meanwhile always see a prefix of the final answer (a snapshot:
//! nothing missing inside it), and counts never go down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::support::store::{Disk, options};
use firstlog::testing::SplitMix64;
use firstlog::{Event, NewEvent, Source, SourceId, Store};

const WRITERS: u64 = 2;
const PER_WRITER: u64 = 1500;
const SOURCES: u64 = 3;
const NAMES: [&str; 3] = ["Page Viewed", "Button Clicked", "Form Submitted"];

/// Event `n` of writer `w`: its source and name follow from (w, n).
fn spec(w: u64, n: u64) -> (usize, &'static str) {
    (
        ((w * 7 + n) % SOURCES) as usize,
        NAMES[((n / 2) % 3) as usize],
    )
}

fn new_event(sources: &[Source], w: u64, n: u64) -> NewEvent {
    let (s, name) = spec(w, n);
    NewEvent::new(name, sources[s].write_key())
        .timestamp_ms(1_700_000_000_000 + n as i64)
        .property("w", w)
        .property("n", n)
        .property("pad", "q".repeat((n % 50) as usize * 4))
}

fn writer(store: Store, sources: Vec<Source>, w: u64, written: Arc<AtomicU64>) {
    let mut rng = SplitMix64::new(w + 99);
    let mut n = 0;
    while n < PER_WRITER {
        let size = (1 + rng.below(12)).min(PER_WRITER - n);
        let events = (n..n + size).map(|k| new_event(&sources, w, k)).collect();
        for outcome in store.collect_batch(events).unwrap() {
            outcome.unwrap();
        }
        written.fetch_add(size, Ordering::SeqCst);
        n += size;
    }
}

/// One page: the seqs and the cursor to resume from.
fn page(
    store: &Store,
    source: SourceId,
    name: Option<&str>,
    after: Option<u64>,
    limit: usize,
    descending: bool,
) -> (Vec<u64>, Option<u64>) {
    let mut q = store.query(source).limit(limit);
    if let Some(name) = name {
        q = q.name(name);
    }
    if let Some(after) = after {
        q = q.after(after);
    }
    if descending {
        q = q.descending();
    }
    let mut it = q.iter();
    let seqs: Vec<u64> = it.by_ref().map(|e| e.unwrap().seq()).collect();
    assert!(seqs.len() <= limit);
    (seqs, it.cursor())
}

/// Pages forward until the writers are done and a page comes back empty.
fn ascending_pager(
    store: Store,
    source: SourceId,
    name: Option<&'static str>,
    limit: usize,
    done: Arc<AtomicBool>,
) -> Vec<u64> {
    let mut cursor = None;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let (seqs, next) = page(&store, source, name, cursor, limit, false);
        pages += 1;
        if let Some(&first) = seqs.first() {
            assert!(
                cursor.is_none_or(|c| first > c),
                "page starts at {first} after cursor {cursor:?}"
            );
            assert_eq!(next, seqs.last().copied());
            cursor = next;
        }
        let empty = seqs.is_empty();
        got.extend(seqs);
        if empty && finished {
            break;
        }
    }
    assert!(pages > 10, "{pages} pages");
    got
}

/// Waits for some events, then pages backwards from the newest one.
fn descending_pager(
    store: Store,
    source: SourceId,
    limit: usize,
    written: Arc<AtomicU64>,
) -> Vec<u64> {
    while written.load(Ordering::SeqCst) < WRITERS * PER_WRITER / 3 {
        std::thread::yield_now();
    }
    let mut cursor = None;
    let mut got = Vec::new();
    loop {
        let (seqs, next) = page(&store, source, None, cursor, limit, true);
        if seqs.is_empty() {
            break;
        }
        assert!(cursor.is_none_or(|c| seqs[0] < c));
        cursor = next;
        got.extend(seqs);
    }
    got
}

/// One query run during the writes: source, name filter, descending, the seqs it
/// returned, and the source's count right after.
type Seen = (usize, Option<&'static str>, bool, Vec<u64>, u64);

/// Runs queries while the writers write: each answer is a prefix of the final
/// one; counts never decrease.
fn querier(store: Store, sources: Vec<Source>, done: Arc<AtomicBool>) -> Vec<Seen> {
    let mut rng = SplitMix64::new(7);
    let mut seen = Vec::new();
    let mut last_count = [0u64; SOURCES as usize];
    while !done.load(Ordering::SeqCst) {
        let s = rng.below(SOURCES) as usize;
        let name = rng.chance(0.5).then(|| NAMES[rng.below(3) as usize]);
        let descending = rng.chance(0.5);
        let mut q = store.query(sources[s].id());
        if let Some(name) = name {
            q = q.name(name);
        }
        if descending {
            q = q.descending();
        }
        let seqs: Vec<u64> = q.iter().map(|e| e.unwrap().seq()).collect();
        let count = store.query(sources[s].id()).count().unwrap();
        assert!(count >= last_count[s], "count went down");
        last_count[s] = count;
        seen.push((s, name, descending, seqs, count));
    }
    seen
}

#[test]
fn cursor_paging_during_appends_skips_and_repeats_nothing() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let sources: Vec<Source> = ["www", "Help Desk", "Web App"]
            .iter()
            .map(|n| store.create_source(n).unwrap())
            .collect();
        let done = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (store, sources, written) = (store.clone(), sources.clone(), written.clone());
                std::thread::spawn(move || writer(store, sources, w, written))
            })
            .collect();
        let asc_all = {
            let (store, id, done) = (store.clone(), sources[0].id(), done.clone());
            std::thread::spawn(move || ascending_pager(store, id, None, 7, done))
        };
        let asc_named = {
            let (store, id, done) = (store.clone(), sources[2].id(), done.clone());
            std::thread::spawn(move || ascending_pager(store, id, Some("Button Clicked"), 3, done))
        };
        let desc = {
            let (store, id, written) = (store.clone(), sources[1].id(), written.clone());
            std::thread::spawn(move || descending_pager(store, id, 5, written))
        };
        let queries = {
            let (store, sources, done) = (store.clone(), sources.clone(), done.clone());
            std::thread::spawn(move || querier(store, sources, done))
        };
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let asc_all = asc_all.join().unwrap();
        let asc_named = asc_named.join().unwrap();
        let desc = desc.join().unwrap();
        let queries = queries.join().unwrap();

        // The final truth, from the log in order.
        let all: Vec<Event> = store.read_from(1).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len() as u64, WRITERS * PER_WRITER);
        assert!(store.stats().segments > 5, "pages must cross rolls");
        let truth = |s: usize, name: Option<&str>| -> Vec<u64> {
            all.iter()
                .filter(|e| e.source() == sources[s].id() && name.is_none_or(|n| e.name() == n))
                .map(|e| e.seq())
                .collect()
        };
        for e in &all {
            let w = e.properties().get("w").and_then(|v| v.as_i64()).unwrap() as u64;
            let n = e.properties().get("n").and_then(|v| v.as_i64()).unwrap() as u64;
            let (s, name) = spec(w, n);
            assert_eq!((e.source(), e.name()), (sources[s].id(), name));
        }

        assert_eq!(asc_all, truth(0, None), "ascending pager");
        assert_eq!(asc_named, truth(2, Some("Button Clicked")), "named pager");
        let top = desc[0];
        let mut want: Vec<u64> = truth(1, None).into_iter().filter(|&s| s <= top).collect();
        want.reverse();
        assert_eq!(desc, want, "descending pager from {top}");
        // Usually the first page is taken mid-way through the writes (not asserted:
        // it depends on scheduling); the walk back is exact either way.
        eprintln!(
            "descending pager started at seq {top} of {}",
            WRITERS * PER_WRITER
        );

        eprintln!("{} concurrent queries checked", queries.len());
        assert!(!queries.is_empty());
        for (s, name, descending, mut seqs, _) in queries {
            if descending {
                seqs.reverse();
            }
            let full = truth(s, name);
            assert_eq!(
                seqs[..],
                full[..seqs.len()],
                "source {s} name {name:?} descending {descending}: not a prefix"
            );
        }
    }
}

#[test]
fn a_cursor_from_a_closed_store_resumes_after_reopen() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let source = store.create_source("Web App").unwrap();
        for n in 0..300 {
            store
                .collect(new_event(std::slice::from_ref(&source), 0, n * SOURCES))
                .unwrap();
        }
        let (first, cursor) = page(&store, source.id(), None, None, 120, false);
        store.close().unwrap();
        drop(store);
        let store = disk.open(options());
        for n in 300..400 {
            store
                .collect(new_event(std::slice::from_ref(&source), 0, n * SOURCES))
                .unwrap();
        }
        let (rest, _) = page(&store, source.id(), None, cursor, 1000, false);
        let all: Vec<u64> = first.into_iter().chain(rest).collect();
        assert_eq!(all, (1..=400).collect::<Vec<_>>());
    }
}
