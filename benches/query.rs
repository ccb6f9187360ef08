//! Query benchmarks on the ~5 % source of a reopened store (sealed, mapped
//! segments plus an active one): every event decoded zero-copy through
//! `Query::for_each`, decoded into owned events through `iter()`, a name-filtered
//! page of the newest 100, and `count()` from the index alone.
//!
//! `cargo bench --bench query`; `FIRSTLOG_BENCH_EVENTS` sets the store size
//! (default 300,000 events, about 140 MB: two sealed 64 MiB segments and an
//! active one).

mod common;

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firstlog::{Durability, Options};

fn query(c: &mut Criterion) {
    let n = common::sized(common::env_u64("FIRSTLOG_BENCH_EVENTS", 300_000), 3_000);
    let dir = tempfile::tempdir().unwrap();
    let options = || Options::default().durability(Durability::Buffered);
    let expected = {
        let (store, sources) = common::open_store(dir.path(), options());
        let per_source = common::fill(&store, &sources, n);
        store.close().unwrap();
        per_source[common::FIVE_PERCENT_SOURCE]
    };
    let (store, sources) = common::open_store(dir.path(), options());
    let source = sources[common::FIVE_PERCENT_SOURCE].id();
    assert_eq!(store.query(source).count().unwrap(), expected);

    let mut group = c.benchmark_group("query_5pct_source");
    group.throughput(Throughput::Elements(expected));
    group.bench_function("for_each_zero_copy", |b| {
        b.iter(|| {
            let mut seen = 0u64;
            let mut work = 0usize;
            store
                .query(source)
                .for_each(|e| {
                    seen += 1;
                    work +=
                        e.name().len() + e.properties().unwrap().len() + e.context().unwrap().len();
                    ControlFlow::Continue(())
                })
                .unwrap();
            assert_eq!(seen, expected);
            black_box(work)
        })
    });
    group.bench_function("iter_owned", |b| {
        b.iter(|| {
            let mut seen = 0u64;
            for e in store.query(source).iter() {
                let e = e.unwrap();
                seen += 1;
                black_box(e.properties().len());
            }
            assert_eq!(seen, expected);
        })
    });
    group.bench_function("count", |b| {
        b.iter(|| black_box(store.query(source).count().unwrap()))
    });
    group.finish();

    let mut group = c.benchmark_group("query_page");
    group.throughput(Throughput::Elements(100));
    group.bench_function("newest_100_page_views", |b| {
        b.iter(|| {
            let page: Vec<_> = store
                .query(source)
                .name("Page Viewed")
                .descending()
                .limit(100)
                .iter()
                .collect::<Result<_, _>>()
                .unwrap();
            black_box(page)
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
    targets = query
}
criterion_main!(benches);
