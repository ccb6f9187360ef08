//! Parquet export throughput on the benchmark workload (`benches/common`): a
//! store of N events (16 sources, default 64 MiB segments) exported whole into
//! an empty directory, three times (a fresh directory each), then an
//! incremental run of 10 % more events. Prints events/s, MB/s of segment data
//! read and of Parquet written, and the bytes per event of each.
//!
//! `cargo bench --bench export --features parquet`; `FIRSTLOG_BENCH_EVENTS`
//! sets N (default 1,000,000). Under `cargo test` it runs once on 5,000.

mod common;

use std::time::{Duration, Instant};

use firstlog::{Durability, ExportOptions, ExportReport, Options, Store};

fn options() -> Options {
    Options::default().durability(Durability::Buffered)
}

/// One export into a fresh directory: the report and how long it took.
fn export_into(store: &Store, out: &std::path::Path) -> (ExportReport, Duration) {
    let start = Instant::now();
    let report = store.export_parquet(&ExportOptions::new(out)).unwrap();
    (report, start.elapsed())
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

fn main() {
    let n = common::sized(common::env_u64("FIRSTLOG_BENCH_EVENTS", 1_000_000), 5_000);
    let dir = tempfile::tempdir().unwrap();
    let (store, sources) = common::open_store(dir.path(), options());
    common::fill(&store, &sources, n);
    store.sync().unwrap();
    let stats = store.stats();
    let segment_bytes = stats.bytes;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let out = tempfile::tempdir().unwrap();
        let (report, took) = export_into(&store, out.path());
        assert_eq!(report.rows, n);
        runs.push((took, report.bytes_written, report.files_added));
    }
    runs.sort();
    let (took, parquet_bytes, files) = runs[1];
    println!(
        "export/full: {n} events in {:.3} s (median of 3): {:.0} events/s, {:.1} MB/s of \
         segment records read, {:.1} MB/s of Parquet written",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        mb_per_s(segment_bytes, took),
        mb_per_s(parquet_bytes, took),
    );
    println!(
        "export/size: {:.1} bytes of Parquet per event vs {:.1} bytes of segment records per \
         event ({:.1}x smaller); {} files",
        parquet_bytes as f64 / n as f64,
        segment_bytes as f64 / n as f64,
        segment_bytes as f64 / parquet_bytes.max(1) as f64,
        files
    );
    incremental(&store, &sources, n);
}

/// A directory exported once, then 10 % more events collected and exported.
fn incremental(store: &Store, sources: &[firstlog::Source], n: u64) {
    let out = tempfile::tempdir().unwrap();
    export_into(store, out.path());
    let more = (n / 10).max(1);
    common::fill(store, sources, more);
    store.sync().unwrap();
    let (report, took) = export_into(store, out.path());
    assert_eq!(report.rows, more);
    println!(
        "export/incremental: {more} new events in {:.3} s: {:.0} events/s, {} files added",
        took.as_secs_f64(),
        more as f64 / took.as_secs_f64(),
        report.files_added
    );
}
