//! The export as a library, beside the store's life: incremental runs while
//! another thread collects (each run adds exactly what became durable since the
//! last); an erasure makes the next run rewrite the files that held the
//! profile (and only those); retention's log start and a source's own maximum
//! age delete the exported files and rows the store no longer keeps.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use firstlog::testing::ManualClock;
use firstlog::{Durability, ExportOptions, NewEvent, Options, Retention, Scope, Source, Store};

use crate::duck::{self, ALL};
use crate::support::store::T0;

const DAY_MS: i64 = 86_400_000;

fn open(path: &Path, clock: &Arc<ManualClock>) -> Store {
    let options = Options::default()
        .segment_bytes(64 << 10)
        .durability(Durability::Buffered)
        .background_maintenance(false)
        .clock(clock.clone());
    Store::open_with(path, options).expect("open store")
}

/// `n` events for `source`, profiles `p0..p9`, over five days from `T0`.
fn batch(source: &Source, from: u64, n: u64) -> Vec<NewEvent> {
    (from..from + n)
        .map(|i| {
            NewEvent::new("Page Viewed", source.write_key())
                .profile(format!("p{}", i % 10))
                .timestamp_ms(T0 + (i % 5) as i64 * DAY_MS + i as i64)
                .property("i", i)
        })
        .collect()
}

/// Every event the store shows, by reading the log.
fn stored(store: &Store) -> i64 {
    let mut n = 0;
    for event in store.read_from(0) {
        event.expect("read");
        n += 1;
    }
    n
}

/// DuckDB's row count and distinct sequence numbers of the export in `root/out`.
fn exported(root: &Path, filter: &str) -> Option<(i64, i64)> {
    let rows = duck::scalar(root, &format!("SELECT count(*) FROM {ALL} WHERE {filter}"))?;
    let distinct = duck::scalar(
        root,
        &format!("SELECT count(DISTINCT seq) FROM {ALL} WHERE {filter}"),
    )?;
    Some((rows, distinct))
}

#[test]
fn incremental_runs_beside_collection_export_each_event_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0));
    let store = open(&tmp.path().join("store"), &clock);
    let sources: Vec<Source> = ["Web", "Desk", "App"]
        .iter()
        .map(|n| store.create_source(n).expect("source"))
        .collect();
    let options = ExportOptions::new(tmp.path().join("out")).rows_per_file(300);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, sources, done) = (store.clone(), sources.clone(), done.clone());
        std::thread::spawn(move || {
            for round in 0..40u64 {
                let source = &sources[(round % 3) as usize];
                store
                    .collect_batch(batch(source, round * 100, 100))
                    .expect("collect");
                if round % 4 == 0 {
                    store.sync().expect("sync");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut through = 0;
    let mut rows = 0;
    let mut runs = 0;
    while !done.load(Ordering::SeqCst) || runs == 0 {
        let report = store.export_parquet(&options).expect("export");
        assert_eq!(
            report.from_seq,
            through + 1,
            "each run starts where the last ended"
        );
        through = report.through_seq;
        rows += report.rows;
        runs += 1;
    }
    writer.join().expect("writer");
    store.sync().expect("sync");
    let last = store.export_parquet(&options).expect("export");
    rows += last.rows;
    assert_eq!(last.through_seq, store.last_seq());
    assert_eq!(rows, 4000, "every event exported once over {runs} runs");
    assert_eq!(
        store.export_parquet(&options).expect("export").run,
        None,
        "nothing new"
    );
    if let Some(counts) = exported(tmp.path(), "true") {
        assert_eq!(counts, (4000, 4000));
    }
}

#[test]
fn erasure_rewrites_the_files_that_held_the_profile() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0));
    let store = open(&tmp.path().join("store"), &clock);
    let web = store.create_source("Web").expect("source");
    let desk = store.create_source("Desk").expect("source");
    // p3 only in the first 1000 events of Web; Desk without p3 at all.
    store.collect_batch(batch(&web, 0, 1000)).expect("collect");
    let others: Vec<NewEvent> = batch(&desk, 0, 1000)
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.profile(format!("q{}", i % 7)))
        .collect();
    store.collect_batch(others).expect("collect");
    store.sync().expect("sync");
    let options = ExportOptions::new(tmp.path().join("out")).rows_per_file(250);
    let first = store.export_parquet(&options).expect("export");
    assert_eq!(first.rows, 2000);
    let files = first.files_added;

    store.erase_profile("p3", Scope::All).expect("erase");
    let report = store
        .export_parquet(&options)
        .expect("export after erasure");
    assert_eq!(report.rows_removed, 100, "{report:?}");
    // p3's events are all in Web's day-3 partition: one file, rewritten.
    assert_eq!(
        (report.files_rewritten, report.files_deleted),
        (1, 0),
        "{report:?}"
    );
    assert!(files > 1);
    if let Some(counts) = exported(tmp.path(), "profile_id = 'p3'") {
        assert_eq!(counts, (0, 0), "no row of the erased profile");
        assert_eq!(exported(tmp.path(), "true"), Some((1900, 1900)));
    }
    // Compaction finishing the request changes nothing more.
    store.maintain().expect("maintain");
    assert!(store.erasures()[0].is_done());
    assert_eq!(store.export_parquet(&options).expect("export").run, None);
    assert_eq!(stored(&store), 1900);
}

#[test]
fn retention_deletes_what_the_store_no_longer_keeps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0));
    let store = open(&tmp.path().join("store"), &clock);
    let web = store.create_source("Web").expect("source");
    let desk = store.create_source("Desk").expect("source");
    // Three generations, ten days apart, each in segments of its own.
    for generation in 0..3u64 {
        store
            .collect_batch(batch(&web, generation * 600, 600))
            .expect("collect");
        store
            .collect_batch(batch(&desk, generation * 600, 600))
            .expect("collect");
        store.roll().expect("roll");
        clock.advance(Duration::from_secs(10 * 86_400));
    }
    store.sync().expect("sync");
    let options = ExportOptions::new(tmp.path().join("out"));
    assert_eq!(store.export_parquet(&options).expect("export").rows, 3600);

    // The store deletes the oldest generation: the log start moves up.
    store
        .set_retention(Retention::default().max_age(Duration::from_secs(25 * 86_400)))
        .expect("retention");
    store.maintain().expect("maintain");
    let log_start = store.log_start();
    assert!(log_start > 1);
    let report = store.export_parquet(&options).expect("export");
    assert!(
        report.files_deleted + report.files_rewritten > 0,
        "{report:?}"
    );
    assert_eq!(
        report.rows_removed,
        3600 - stored(&store) as u64,
        "{report:?}"
    );
    if let Some(counts) = exported(tmp.path(), &format!("seq >= {log_start}")) {
        assert_eq!(
            Some(counts),
            exported(tmp.path(), "true"),
            "nothing below the log start"
        );
        assert_eq!(counts.0, stored(&store));
    }

    // Desk keeps 15 days: its second generation goes from the export at once,
    // before the store's own pass compacts it.
    store
        .set_source_max_age(desk.id(), Some(Duration::from_secs(15 * 86_400)))
        .expect("max age");
    let report = store.export_parquet(&options).expect("export");
    assert_eq!(report.rows_removed, 600, "{report:?}");
    if let Some(desk_rows) = duck::scalar(
        tmp.path(),
        &format!("SELECT count(*) FROM {ALL} WHERE source = 'Desk'"),
    ) {
        assert_eq!(desk_rows, 600, "only Desk's youngest generation is left");
    }
    store.maintain().expect("maintain");
    assert_eq!(store.export_parquet(&options).expect("export").run, None);
    if let Some(total) = exported(tmp.path(), "true") {
        assert_eq!(total.0, stored(&store));
    }
}

/// The `.parquet` files under `out`, by partition directory.
fn files_per_partition(out: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for source in std::fs::read_dir(out).expect("out").flatten() {
        let name = source.file_name().to_string_lossy().into_owned();
        if !name.starts_with("source_id=") {
            continue;
        }
        for day in std::fs::read_dir(source.path()).expect("source").flatten() {
            let n = std::fs::read_dir(day.path())
                .expect("day")
                .flatten()
                .filter(|f| f.file_name().to_string_lossy().ends_with(".parquet"))
                .count();
            let key = format!("{name}/{}", day.file_name().to_string_lossy());
            counts.insert(key, n);
        }
    }
    counts
}

#[test]
fn small_files_of_closed_days_are_merged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0));
    let store = open(&tmp.path().join("store"), &clock);
    let web = store.create_source("Web").expect("source");
    let out = tmp.path().join("out");
    let options = ExportOptions::new(&out).rows_per_file(1000);
    // Ten frequent runs: ten small files in each of the five day partitions.
    for run in 0..10u64 {
        store
            .collect_batch(batch(&web, run * 100, 100))
            .expect("collect");
        store.sync().expect("sync");
        let report = store.export_parquet(&options).expect("export");
        assert_eq!(report.files_merged, 0, "no day is over yet: {report:?}");
    }
    assert!(files_per_partition(&out).values().all(|&n| n == 10));

    // p3 is erased in the same run that merges: its files are rewritten
    // (ending the groups), the others merged around them, each row once.
    store.erase_profile("p3", Scope::All).expect("erase");
    clock.advance(Duration::from_secs(8 * 86_400));
    let report = store.export_parquet(&options).expect("export");
    assert!(report.files_merged > 0, "{report:?}");
    assert_eq!(report.rows_removed, 100, "{report:?}");
    if let Some(counts) = exported(tmp.path(), "true") {
        assert_eq!(counts, (900, 900), "every remaining event once");
    }

    // The next run merges what the erasure's rewrites had split: one file a day.
    store.export_parquet(&options).expect("export");
    let after = files_per_partition(&out);
    assert_eq!(after.len(), 5, "{after:?}");
    assert!(after.values().all(|&n| n == 1), "{after:?}");
    if let Some(counts) = exported(tmp.path(), "true") {
        assert_eq!(counts, (900, 900));
    }
    assert_eq!(store.export_parquet(&options).expect("export").run, None);

    // A late event for a closed day arrives as a new file, merged next time.
    let late = NewEvent::new("Page Viewed", web.write_key())
        .profile("late")
        .timestamp_ms(T0 + 1);
    store.collect(late).expect("collect");
    store.sync().expect("sync");
    let report = store.export_parquet(&options).expect("export");
    assert_eq!(report.rows, 1);
    assert_eq!(files_per_partition(&out).values().sum::<usize>(), 6);
    let report = store.export_parquet(&options).expect("export");
    assert_eq!((report.files_merged, report.rows), (2, 0), "{report:?}");
    assert_eq!(files_per_partition(&out).values().sum::<usize>(), 5);
    if let Some(counts) = exported(tmp.path(), "true") {
        assert_eq!(counts, (901, 901));
    }
}
