//! Ingest benchmarks: one event and batches of 100 and 1000 in each durability
//! mode; single events from 1, 2 and 4 threads under `Sync` (group commit); and
//! collection from raw JSON bytes, one payload and batch requests of 100; and
//! from the application's own event struct, as `NewEvent`s or an `EventBatch`.
//!
//! `cargo bench --bench ingest`; throughput is in events (elements) per second.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use firstlog::{Durability, NewEvent, Options};

/// Events generated once and appended over and over (cycling).
fn pool_size() -> usize {
    common::sized(20_000, 1_000) as usize
}

fn durabilities() -> [(&'static str, Durability); 3] {
    [
        ("buffered", Durability::Buffered),
        ("interval_1s", Durability::Interval(Duration::from_secs(1))),
        ("sync", Durability::Sync),
    ]
}

/// Cycles through the pool in slices of `n`.
struct Cycle<'a> {
    pool: &'a [NewEvent],
    at: usize,
}

impl<'a> Cycle<'a> {
    fn new(pool: &'a [NewEvent]) -> Self {
        Cycle { pool, at: 0 }
    }

    fn next(&mut self, n: usize) -> &'a [NewEvent] {
        if self.at + n > self.pool.len() {
            self.at = 0;
        }
        let slice = &self.pool[self.at..self.at + n];
        self.at += n;
        slice
    }
}

fn append(c: &mut Criterion) {
    let keys_dir = tempfile::tempdir().unwrap();
    let (store, sources) = common::open_store(keys_dir.path(), Options::default());
    let keys = common::keys(&sources);
    drop(store);
    let pool = common::events(&keys, pool_size());

    let mut group = c.benchmark_group("append");
    for (mode, durability) in durabilities() {
        for batch in [1usize, 100, 1000] {
            // A fresh store per case; the first one's directory holds the sources
            // the pool's write keys belong to.
            let dir = tempfile::tempdir().unwrap();
            common::copy_dir(keys_dir.path(), dir.path());
            let options = Options::default().durability(durability);
            let (store, _) = common::open_store(dir.path(), options);
            let mut cycle = Cycle::new(&pool);
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(BenchmarkId::new(mode, batch), |b| {
                b.iter(|| {
                    // One event goes through the same path as `collect` without
                    // cloning it first.
                    let outcomes = store.collect_batch_from(cycle.next(batch)).unwrap();
                    black_box(outcomes)
                })
            });
            store.close().unwrap();
        }
    }
    group.finish();
}

fn threads(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().durability(Durability::Sync);
    let (store, sources) = common::open_store(dir.path(), options);
    let pool = common::events(&common::keys(&sources), pool_size());
    let mut group = c.benchmark_group("sync_threads");
    for threads in [1usize, 2, 4, 8, 16] {
        // Each thread appends single events from its own part of the pool.
        let part = pool.len() / threads;
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(BenchmarkId::new("single_events", threads), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..threads {
                        let store = &store;
                        let mine = &pool[t * part..(t + 1) * part];
                        s.spawn(move || {
                            for i in 0..iters as usize {
                                let event = std::slice::from_ref(&mine[i % mine.len()]);
                                black_box(store.collect_batch_from(event).unwrap());
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
    store.close().unwrap();
}

fn json(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (store, sources) = common::open_store(dir.path(), Options::default());
    let keys = common::keys(&sources);
    let app: Vec<_> = common::workload(pool_size() as u64).collect();
    let singles: Vec<Vec<u8>> = app
        .iter()
        .map(|e| {
            let mut out = Vec::new();
            common::workload::firstparty_json(e, &keys[usize::from(e.source)], &mut out);
            out
        })
        .collect();
    let batches: Vec<Vec<u8>> = app
        .chunks(100)
        .map(|chunk| {
            let mut out = Vec::new();
            common::workload::firstparty_batch_json(chunk, &keys, &mut out);
            out
        })
        .collect();
    let mut group = c.benchmark_group("json");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("collect_json", |b| {
        b.iter(|| {
            i = (i + 1) % singles.len();
            black_box(store.collect_json(&singles[i]).unwrap())
        })
    });
    group.throughput(Throughput::Elements(100));
    let mut i = 0;
    group.bench_function("collect_batch_json_100", |b| {
        b.iter(|| {
            i = (i + 1) % batches.len();
            black_box(store.collect_batch_json(&batches[i]).unwrap())
        })
    });
    // The same batch requests from two collecting threads at once.
    let half = batches.len() / 2;
    group.throughput(Throughput::Elements(200));
    group.bench_function("collect_batch_json_100_2threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..2 {
                    let store = &store;
                    let mine = &batches[t * half..(t + 1) * half];
                    s.spawn(move || {
                        for i in 0..iters as usize {
                            black_box(store.collect_batch_json(&mine[i % mine.len()]).unwrap());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
    store.close().unwrap();
}

/// From the application's own events to the store, batches of 1000: building
/// owned `NewEvent`s (then `collect_batch`) against encoding each field into an
/// `EventBatch` as it is read (then `collect_event_batch`). Both timed from the
/// application struct.
fn from_app_events(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().durability(Durability::Buffered);
    let (store, sources) = common::open_store(dir.path(), options);
    let keys = common::keys(&sources);
    let app: Vec<_> = common::workload(pool_size() as u64).collect();
    let mut group = c.benchmark_group("from_app_events");
    group.throughput(Throughput::Elements(1000));
    let mut chunks = app.chunks(1000).cycle();
    group.bench_function("new_event_1000", |b| {
        b.iter(|| {
            let events: Vec<NewEvent> = chunks
                .next()
                .unwrap_or_default()
                .iter()
                .map(|e| common::new_event(e, &keys))
                .collect();
            black_box(store.collect_batch(events).unwrap())
        })
    });
    let mut chunks = app.chunks(1000).cycle();
    let mut batch = firstlog::EventBatch::new();
    group.bench_function("event_batch_1000", |b| {
        b.iter(|| {
            for e in chunks.next().unwrap_or_default() {
                common::add_to_batch(&mut batch, e, &keys[usize::from(e.source)]);
            }
            black_box(store.collect_event_batch(&mut batch).unwrap())
        })
    });
    group.finish();
    store.close().unwrap();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = append, threads, json, from_app_events
}
criterion_main!(benches);
