//! An export run interrupted at every I/O operation (sampled) on the simulated
//! disk, then a power loss (unsynced data dropped, or torn, or kept), then the
//! store and the export opened again on what survived and run again: every
//! Parquet file in the directory reads back whole, and every event the store
//! shows is in it exactly once (an erased profile nowhere), whatever the point
//! of the interruption: before, at or after the commit, in the middle of the
//! renames.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use firstlog::testing::{CrashMode, FaultPlan, FaultyFs, MemFs, Vfs};
use firstlog::{Durability, ExportOptions, NewEvent, Options, Scope, Source, Store};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::support::store::T0;

const DAY_MS: i64 = 86_400_000;

fn dir() -> PathBuf {
    PathBuf::from("/store")
}

fn export_options() -> ExportOptions {
    ExportOptions::new("/out").rows_per_file(120)
}

fn open(fs: Arc<dyn Vfs>) -> Store {
    let options = Options::default()
        .segment_bytes(64 << 10)
        .durability(Durability::Sync)
        .background_maintenance(false)
        .fs(fs);
    Store::open_with(dir(), options).expect("open store")
}

fn events(source: &Source, from: u64, n: u64) -> Vec<NewEvent> {
    (from..from + n)
        .map(|i| {
            NewEvent::new("Page Viewed", source.write_key())
                .profile(format!("p{}", i % 7))
                .timestamp_ms(T0 + (i % 3) as i64 * DAY_MS + i as i64)
                .property("i", i)
        })
        .collect()
}

/// A store exported once, then more events and an erasure: the next run adds
/// files, rewrites some and deletes none or some.
fn prepared() -> MemFs {
    let mem = MemFs::new();
    let store = open(Arc::new(mem.clone()));
    let web = store.create_source("Web").expect("source");
    let desk = store.create_source("Desk").expect("source");
    store.collect_batch(events(&web, 0, 300)).expect("collect");
    store.collect_batch(events(&desk, 0, 200)).expect("collect");
    store
        .export_parquet(&export_options())
        .expect("first export");
    store
        .collect_batch(events(&web, 300, 250))
        .expect("collect");
    store
        .collect_batch(events(&desk, 200, 150))
        .expect("collect");
    store.erase_profile("p3", Scope::All).expect("erase");
    store.close().expect("close");
    mem
}

/// The sequence numbers in every Parquet file of the export on `fs`, by file;
/// panics on a file that does not read back whole.
fn exported_seqs(fs: &MemFs, store: &Store, scratch: &Path) -> BTreeMap<PathBuf, Vec<i64>> {
    let mut files = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for source in store.sources() {
        for day in 0..3 {
            let date = firstlog::format_rfc3339(T0 + day * DAY_MS)[..10].to_owned();
            dirs.push(PathBuf::from(format!(
                "/out/source_id={}/date={date}",
                source.id().0
            )));
        }
    }
    for dir in dirs {
        for name in fs.list(&dir).unwrap_or_default() {
            if !name.ends_with(".parquet") {
                continue;
            }
            let path = dir.join(&name);
            let bytes = fs.read(&path).expect("listed file");
            let copy = scratch.join("file.parquet");
            std::fs::write(&copy, &bytes).expect("scratch copy");
            let file = std::fs::File::open(&copy).expect("open copy");
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap_or_else(|e| panic!("{} is not a whole Parquet file: {e}", path.display()))
                .build()
                .expect("reader");
            let mut seqs = Vec::new();
            for batch in reader {
                let batch = batch.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seqs.extend(
                    batch
                        .column(0)
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
            }
            files.insert(path, seqs);
        }
    }
    files
}

/// Interrupts the run at `fail_at` (operations after opening), loses power as
/// `mode` says, and runs again; checks the export against the store.
fn interrupted_at(base: &MemFs, fail_at: u64, mode: CrashMode, scratch: &Path) -> bool {
    let disk = base.crash(CrashMode::KeepAll, 0);
    let faulty = FaultyFs::new(disk.clone());
    let store = open(Arc::new(faulty.clone()));
    faulty.set_plan(FaultPlan {
        fail_at: Some(faulty.ops() + fail_at),
        forever: true,
    });
    let failed = store.export_parquet(&export_options()).is_err();
    drop(store);
    let after = disk.crash(mode, fail_at);
    let store = open(Arc::new(after.clone()));
    let report = store
        .export_parquet(&export_options())
        .unwrap_or_else(|e| panic!("run after the interruption at {fail_at} ({mode:?}): {e}"));
    let files = exported_seqs(&after, &store, scratch);
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for seqs in files.values() {
        for &seq in seqs {
            *seen.entry(seq).or_default() += 1;
        }
    }
    let mut expected: BTreeMap<i64, usize> = BTreeMap::new();
    for event in store.read_from(0) {
        let event = event.expect("read");
        assert_ne!(event.profile_id(), Some("p3"));
        expected.insert(event.seq() as i64, 1);
    }
    assert_eq!(
        seen, expected,
        "interrupted at operation {fail_at} ({mode:?}), then {report:?}: every event exactly once"
    );
    failed
}

#[test]
fn a_run_interrupted_anywhere_then_rerun_exports_each_event_once() {
    let base = prepared();
    let scratch = tempfile::tempdir().expect("tempdir");
    // How many operations a whole run takes.
    let total = {
        let faulty = FaultyFs::new(base.crash(CrashMode::KeepAll, 0));
        let store = open(Arc::new(faulty.clone()));
        let before = faulty.ops();
        let report = store.export_parquet(&export_options()).expect("export");
        assert!(
            report.files_added > 3 && report.files_rewritten > 0,
            "{report:?}"
        );
        faulty.ops() - before
    };
    let stride = (total / 90).max(1);
    let mut interrupted = 0;
    let mut point = 1;
    while point <= total + 1 {
        for mode in [CrashMode::DropAll, CrashMode::Torn, CrashMode::KeepAll] {
            interrupted += u32::from(interrupted_at(&base, point, mode, scratch.path()));
        }
        point += stride;
    }
    assert!(
        interrupted > 100,
        "{interrupted} interrupted runs of {total} operations"
    );
}
