//! Helpers shared by the benchmarks: a store with the workload's 16 sources,
//! filling it, and reading sizes from the environment. The workload itself (the
//! application's own events) is the compare bench's, included from
//! `benches/compare/src/workload.rs`.

#![allow(dead_code, reason = "each bench uses a different subset")]

use std::path::Path;

use firstlog::{EventBatch, NewEvent, Options, Source, Store};

#[path = "../compare/src/workload.rs"]
pub mod workload;

use workload::{AppEvent, Workload};

/// Sources of the workload (issue 7: 16, skewed 1/(k+1)).
pub const SOURCES: usize = 16;
/// The source holding about 5 % of the events (`share(16, 5)` = 4.9 %).
pub const FIVE_PERCENT_SOURCE: usize = 5;

/// Opens the store in `dir` with `options`; creates the 16 workload sources when
/// the store has none. Returns the sources in workload order.
pub fn open_store(dir: &Path, options: Options) -> (Store, Vec<Source>) {
    let store = Store::open_with(dir, options).expect("open store");
    let mut sources = store.sources();
    if sources.is_empty() {
        sources = (0..SOURCES)
            .map(|k| {
                store
                    .create_source(&format!("Source {k}"))
                    .expect("create source")
            })
            .collect();
    }
    (store, sources)
}

/// The write keys of `sources`, in order.
pub fn keys(sources: &[Source]) -> Vec<String> {
    sources.iter().map(|s| s.write_key().to_owned()).collect()
}

/// The benchmark workload of `events` events (seeded, 16 sources).
pub fn workload(events: u64) -> Workload {
    Workload::standard(events)
}

/// An application event as a firstlog event of the source it belongs to.
pub fn new_event(event: &AppEvent, keys: &[String]) -> NewEvent {
    workload::to_new_event(event, &keys[usize::from(event.source)])
}

/// Adds an application event to `batch`, borrowing its strings: the
/// [`EventBatch`] path (no `NewEvent`).
#[inline(never)]
pub fn add_to_batch<'a>(batch: &mut EventBatch<'a>, event: &'a AppEvent, key: &'a str) {
    workload::add_to_batch(batch, event, key);
}

/// `n` workload events over `keys`, as firstlog events, in memory.
pub fn events(keys: &[String], n: usize) -> Vec<NewEvent> {
    workload(n as u64).map(|e| new_event(&e, keys)).collect()
}

/// Appends `n` workload events to `store` in batches of 1000; returns how many
/// went to each source.
pub fn fill(store: &Store, sources: &[Source], n: u64) -> Vec<u64> {
    let keys = keys(sources);
    let mut per_source = vec![0u64; sources.len()];
    let mut w = workload(n);
    let mut batch = Vec::with_capacity(1000);
    loop {
        batch.clear();
        for e in w.by_ref().take(1000) {
            per_source[usize::from(e.source)] += 1;
            batch.push(new_event(&e, &keys));
        }
        if batch.is_empty() {
            break;
        }
        for outcome in store.collect_batch_from(&batch).expect("append") {
            outcome.expect("event accepted");
        }
    }
    per_source
}

/// A size from the environment variable `name`, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// Copies every regular file of `from` into `to` (created if needed).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy file");
        }
    }
}

/// Bytes the files under `dir` occupy on disk (allocated blocks, like `du`).
pub fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += disk_bytes(&entry.path());
        } else {
            total += meta.blocks() * 512;
        }
    }
    total
}

/// True when the binary runs as a benchmark (`cargo bench`), false when it runs
/// as a smoke test (`cargo test --benches`, `cargo bench -- --test`), which
/// should use small sizes.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// `full` when benchmarking, `smoke` in a smoke test.
pub fn sized(full: u64, smoke: u64) -> u64 {
    if bench_mode() { full } else { smoke }
}
