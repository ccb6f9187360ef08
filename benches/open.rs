//! Open benchmarks: a store closed cleanly, and a store that "crashed" with a
//! full active segment, whose open must scan and check every record of that
//! segment and rebuild its index.
//!
//! The crashed store is an image copied while the store was open (appended
//! records are in the page cache, nothing is trimmed or sealed), and every
//! iteration opens a fresh copy of it (the copy is not timed).
//!
//! `cargo bench --bench open`; `FIRSTLOG_BENCH_EVENTS` sets the clean store's
//! size (default 1,000,000 events).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firstlog::{Durability, Options, Store};

/// Segment size of the crash image: the default.
const SEGMENT_BYTES: u64 = 64 << 20;

fn options() -> Options {
    Options::default()
        .durability(Durability::Buffered)
        .segment_bytes(SEGMENT_BYTES)
}

fn clean(c: &mut Criterion) {
    let n = common::sized(common::env_u64("FIRSTLOG_BENCH_EVENTS", 1_000_000), 5_000);
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, sources) = common::open_store(dir.path(), options());
        common::fill(&store, &sources, n);
        store.close().unwrap();
    }
    let mut group = c.benchmark_group("open");
    group.throughput(Throughput::Elements(n));
    group.bench_function("clean", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let store = Store::open_with(dir.path(), options()).unwrap();
                total += start.elapsed();
                assert_eq!(store.open_report().records, n);
                // Closing (an fdatasync of nothing and a trim) is not timed.
                drop(black_box(store));
            }
            total
        })
    });
    group.finish();
}

fn crashed(c: &mut Criterion) {
    let image = tempfile::tempdir().unwrap();
    let records = {
        let live = tempfile::tempdir().unwrap();
        let (store, sources) = common::open_store(live.path(), options());
        let keys = common::keys(&sources);
        // Fill the first (active) segment to about 97 % without rolling it.
        let target = common::sized(SEGMENT_BYTES * 97 / 100, 1 << 20);
        let mut w = common::workload(u64::MAX);
        while store.stats().bytes < target {
            let batch: Vec<_> = w
                .by_ref()
                .take(100)
                .map(|e| common::new_event(&e, &keys))
                .collect();
            store.collect_batch_from(&batch).unwrap();
        }
        let stats = store.stats();
        assert_eq!(stats.segments, 1, "the active segment rolled");
        common::copy_dir(live.path(), image.path());
        store.close().unwrap();
        stats.events
    };
    let mut group = c.benchmark_group("open");
    // Each iteration also copies the 64 MiB image (not timed).
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(records));
    group.bench_function("after_crash_full_active_segment", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let copy = tempfile::tempdir().unwrap();
                common::copy_dir(image.path(), copy.path());
                let start = Instant::now();
                let store = Store::open_with(copy.path(), options()).unwrap();
                total += start.elapsed();
                assert_eq!(store.open_report().records, records);
                drop(black_box(store));
            }
            total
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = clean, crashed
}
criterion_main!(benches);
