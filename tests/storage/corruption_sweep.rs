//! Every byte of a small multi-segment store, flipped in turn — in a sealed segment,
//! the active segment (trimmed, and still at its reserved size after a crash), an
//! index file and the catalog: opening and reading never panic, hang or return a
//! wrong event; a damaged tail is cut with a report; damage followed by valid
//! records is `Corrupt` naming file and offset; a damaged index is rebuilt; a
//! damaged catalog is a clear `Corrupt`/`UnsupportedVersion`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::records::{SEGMENT_HEADER_BYTES, records};
use crate::support::store::mem_options;
use crate::support::store::{assert_verify_reports, event};
use firstlog::testing::{CrashMode, MemFs, Vfs};
use firstlog::{Error, NewEvent, RecoveryMode, SourceId, Store};

const TRAILER_BYTES: usize = 64;

fn dir() -> PathBuf {
    PathBuf::from("/sweep")
}

type Files = BTreeMap<String, Vec<u8>>;

/// The pristine store: two sealed segments (singles; a batch then singles) and an
/// active one ending in a 3-event batch. Returns the files after a clean close, the
/// files as a crash would leave them (active segment at its reserved size), the
/// JSON of every event by sequence number, and the sources.
fn pristine() -> (Files, Files, BTreeMap<u64, String>, Vec<SourceId>) {
    let mem = MemFs::new();
    let store = Store::open_with(dir(), mem_options(&mem)).unwrap();
    let a = store.create_source("Web App").unwrap();
    let b = store.create_source("Help Desk").unwrap();
    let key = |i: u64| {
        if i.is_multiple_of(3) {
            b.write_key()
        } else {
            a.write_key()
        }
    };
    let mut i = 0;
    let mut next = || {
        i += 1;
        i
    };
    for _ in 0..8 {
        let n = next();
        store.collect(event(key(n), n)).unwrap();
    }
    store.roll().unwrap();
    let batch: Vec<NewEvent> = (0..5)
        .map(|_| {
            let n = next();
            event(key(n), n)
        })
        .collect();
    store.collect_batch(batch).unwrap();
    for _ in 0..3 {
        let n = next();
        store.collect(event(key(n), n)).unwrap();
    }
    store.roll().unwrap();
    for _ in 0..4 {
        let n = next();
        store.collect(event(key(n), n)).unwrap();
    }
    let batch: Vec<NewEvent> = (0..3)
        .map(|_| {
            let n = next();
            event(key(n), n)
        })
        .collect();
    store.collect_batch(batch).unwrap();
    let originals: BTreeMap<u64, String> = store
        .read_from(1)
        .map(|e| {
            let e = e.unwrap();
            (e.seq(), e.to_json())
        })
        .collect();
    assert_eq!(originals.len(), 23);
    let crashed = mem.crash(CrashMode::KeepAll, 0);
    store.close().unwrap();
    drop(store);
    (
        files_of(&mem),
        files_of(&crashed),
        originals,
        vec![a.id(), b.id()],
    )
}

fn files_of(mem: &MemFs) -> Files {
    mem.list(&dir())
        .unwrap()
        .into_iter()
        .map(|name| {
            let bytes = mem.read(&dir().join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

fn restore(files: &Files) -> MemFs {
    let mem = MemFs::new();
    mem.create_dir_all(&dir()).unwrap();
    for (name, bytes) in files {
        mem.write(&dir().join(name), bytes.clone());
    }
    mem
}

/// Which read path met an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadPath {
    /// `Store::read_from` (the log reader).
    Reader,
    /// `Store::query` (index entries, then records).
    Query,
}

/// Reads everything every way: each event returned must be the original; every
/// error must be `Corrupt`. Returns the errors met, by read path.
fn read_all_ways(
    store: &Store,
    originals: &BTreeMap<u64, String>,
    sources: &[SourceId],
    what: &str,
) -> Vec<(ReadPath, Error)> {
    let mut errors = Vec::new();
    let mut check = |path: ReadPath, item: Result<firstlog::Event, Error>| match item {
        Ok(e) => assert_eq!(
            originals.get(&e.seq()),
            Some(&e.to_json()),
            "{what}: a wrong event was returned"
        ),
        Err(e) => {
            assert!(e.is_corruption(), "{what}: unexpected error {e:?}");
            errors.push((path, e));
        }
    };
    store
        .read_from(1)
        .for_each(|item| check(ReadPath::Reader, item));
    for &source in sources {
        let queries = [
            store.query(source),
            store.query(source).descending().limit(4),
            store
                .query(source)
                .name("Page Viewed")
                .since(1_700_000_005_000),
        ];
        for query in queries {
            query.iter().for_each(|item| check(ReadPath::Query, item));
        }
        let _ = store.query(source).count();
    }
    errors
}

/// The file and offset a corruption error names.
fn location(e: &Error) -> (PathBuf, u64) {
    match e {
        Error::Corrupt { file, offset, .. } => (file.clone(), *offset),
        _ => unreachable!("checked by read_all_ways"),
    }
}

fn assert_names(e: &Error, file: &Path, what: &str) {
    match e {
        Error::Corrupt { file: f, .. } | Error::UnsupportedVersion { file: f, .. } => {
            assert_eq!(f, file, "{what}: {e}")
        }
        _ => panic!("{what}: expected Corrupt or UnsupportedVersion, got {e:?}"),
    }
}

/// Fails the process if one case takes far too long (a hang), naming the case.
struct Watchdog {
    last: Arc<AtomicU64>,
    case: Arc<parking_lot::Mutex<String>>,
    start: Instant,
}

impl Watchdog {
    fn new() -> Self {
        let last = Arc::new(AtomicU64::new(0));
        let case = Arc::new(parking_lot::Mutex::new(String::new()));
        let start = Instant::now();
        let (l, c) = (last.clone(), case.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                let now = start.elapsed().as_secs();
                if now.saturating_sub(l.load(Ordering::Relaxed)) > 120 {
                    eprintln!("corruption sweep hangs in case {}", c.lock());
                    std::process::abort();
                }
            }
        });
        Watchdog { last, case, start }
    }

    fn tick(&self, case: &str) {
        self.last
            .store(self.start.elapsed().as_secs(), Ordering::Relaxed);
        *self.case.lock() = case.to_owned();
    }
}

/// Flips one bit of byte `at` of file `name` (the bit depends on the offset, so
/// every bit position is exercised across a file).
fn damaged(files: &Files, name: &str, at: usize) -> MemFs {
    let mut files = files.clone();
    let bytes = files.get_mut(name).unwrap();
    bytes[at] ^= 1 << (at % 8);
    restore(&files)
}

#[test]
fn every_byte_of_every_file() {
    let (files, crashed_files, originals, sources) = pristine();
    let watchdog = Watchdog::new();
    let names: Vec<&String> = files.keys().collect();
    let segments: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| n.ends_with(".seg"))
        .collect();
    let indexes: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| n.ends_with(".idx"))
        .collect();
    assert_eq!(segments.len(), 3, "{names:?}");
    assert_eq!(indexes.len(), 2, "{names:?}");
    let mut cases = 0u64;

    // ---- sealed segments ----
    for &name in &segments[..2] {
        let bytes = &files[name];
        let path = dir().join(name);
        let recs = records(bytes);
        let data_end = recs.last().unwrap().end;
        assert_eq!(data_end + TRAILER_BYTES, bytes.len());
        for at in 0..bytes.len() {
            let what = format!("sealed {name} byte {at}");
            watchdog.tick(&what);
            cases += 1;
            let mem = damaged(&files, name, at);
            let opened = Store::open_with(dir(), mem_options(&mem));
            if at < SEGMENT_HEADER_BYTES || at >= data_end {
                let e = opened.err().unwrap_or_else(|| panic!("{what}: opened"));
                assert_names(&e, &path, &what);
                continue;
            }
            let store = opened.unwrap_or_else(|e| panic!("{what}: {e}"));
            let rec = recs
                .iter()
                .find(|r| (r.start..r.end).contains(&at))
                .unwrap();
            // Every read that meets the damaged record (header, body or padding)
            // reports it, naming its file and offset: queries and the log reader
            // alike (a damaged sequence number must not make the reader blame the
            // intact record after it).
            let errors = read_all_ways(&store, &originals, &sources, &what);
            assert!(!errors.is_empty(), "{what}: damage went unnoticed by reads");
            for (via, e) in &errors {
                assert_eq!(
                    location(e),
                    (path.clone(), rec.start as u64),
                    "{what}: {via:?} named the wrong place: {e}"
                );
            }
            assert_verify_reports(&store, &path, rec.start as u64, &what);
        }
    }

    // ---- the active segment: trimmed (clean close) and at reserved size (crash) ----
    let active = segments[2];
    let path = dir().join(active);
    for (variant, files) in [("trimmed", &files), ("reserved", &crashed_files)] {
        let bytes = &files[active];
        let recs = records(bytes);
        let data_end = recs.last().unwrap().end;
        let offsets: Vec<usize> = (0..data_end)
            .chain((data_end..bytes.len()).step_by(97))
            .collect();
        for at in offsets {
            let what = format!("active ({variant}) {active} byte {at}");
            watchdog.tick(&what);
            cases += 1;
            let mem = damaged(files, active, at);
            let opened = Store::open_with(dir(), mem_options(&mem));
            if at < SEGMENT_HEADER_BYTES {
                let e = opened.err().unwrap_or_else(|| panic!("{what}: opened"));
                assert_names(&e, &path, &what);
                continue;
            }
            let rec = recs.iter().find(|r| (r.start..r.end).contains(&at));
            let followed_by_valid = rec.is_some_and(|r| r.end < data_end);
            if followed_by_valid {
                let rec = rec.unwrap();
                match opened {
                    Err(Error::Corrupt { file, offset, .. }) => {
                        assert_eq!(file, path, "{what}");
                        assert_eq!(offset, rec.start as u64, "{what}");
                    }
                    other => panic!("{what}: expected Corrupt at {}, got {other:?}", rec.start),
                }
                continue;
            }
            // The damage is the tail: cut, reported, everything before it intact.
            let store = opened.unwrap_or_else(|e| panic!("{what}: {e}"));
            let repair = store
                .open_report()
                .tail_repair
                .clone()
                .unwrap_or_else(|| panic!("{what}: the cut was not reported"));
            assert_eq!(repair.file, path, "{what}");
            let (cut, kept_seq) = match rec {
                Some(r) => (r.batch_start, r.batch_first_seq - 1),
                None => (data_end, recs.last().unwrap().seq),
            };
            assert_eq!(repair.offset, cut as u64, "{what}: {repair:?}");
            assert!(repair.dropped_bytes > 0, "{what}: {repair:?}");
            assert_eq!(store.last_seq(), kept_seq, "{what}");
            let errors = read_all_ways(&store, &originals, &sources, &what);
            assert!(errors.is_empty(), "{what}: {errors:?}");
            let returned = store.read_from(1).count() as u64;
            assert_eq!(returned, kept_seq, "{what}");
            let report = store.verify().unwrap();
            assert!(report.is_clean(), "{what}: {:?}", report.problems);
        }
    }

    // ---- index files: rebuilt, reported, nothing lost ----
    for &name in &indexes {
        let path = dir().join(name);
        for at in 0..files[name].len() {
            let what = format!("index {name} byte {at}");
            watchdog.tick(&what);
            cases += 1;
            let mem = damaged(&files, name, at);
            let store = Store::open_with(dir(), mem_options(&mem))
                .unwrap_or_else(|e| panic!("{what}: index damage must not stop open: {e}"));
            assert!(
                store
                    .open_report()
                    .rebuilt_indexes
                    .iter()
                    .any(|(p, _)| *p == path),
                "{what}: not rebuilt: {:?}",
                store.open_report()
            );
            let errors = read_all_ways(&store, &originals, &sources, &what);
            assert!(errors.is_empty(), "{what}: {errors:?}");
            assert_eq!(store.read_from(1).count(), originals.len(), "{what}");
            let report = store.verify().unwrap();
            assert!(report.is_clean(), "{what}: {:?}", report.problems);
            assert_eq!(mem.read(&path), Some(files[name].clone()), "{what}");
        }
    }

    // ---- the catalog: a clear error naming it ----
    let path = dir().join("catalog");
    for at in 0..files["catalog"].len() {
        let what = format!("catalog byte {at}");
        watchdog.tick(&what);
        cases += 1;
        let mem = damaged(&files, "catalog", at);
        let e = Store::open_with(dir(), mem_options(&mem))
            .err()
            .unwrap_or_else(|| panic!("{what}: opened"));
        assert_names(&e, &path, &what);
    }
    println!("corruption cases run: {cases}");
}

// ---- whole files missing -------------------------------------------------------------

/// A segment file missing between others is a gap in the sequence numbers:
/// opening fails with `Corrupt` naming the segment after the gap.
#[test]
fn a_missing_middle_segment_is_corrupt() {
    let (files, _, _, _) = pristine();
    let segments: Vec<&String> = files.keys().filter(|n| n.ends_with(".seg")).collect();
    let mut damaged = files.clone();
    damaged.remove(segments[1]);
    damaged.remove(&segments[1].replace(".seg", ".idx"));
    match Store::open_with(dir(), mem_options(&restore(&damaged))) {
        Err(Error::Corrupt { file, reason, .. }) => {
            assert_eq!(file, dir().join(segments[2]), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// The oldest segment file missing (found by the `open_store` fuzzer): firstlog has
/// no retention, so a log starts at sequence number 1, and a log that starts later
/// lost its first segment. Opening must not hide that (it once opened, with
/// `read_from(1)` starting at the second segment, `verify()` clean and nothing in
/// the open report).
#[test]
fn a_missing_first_segment_is_reported() {
    let (files, _, _, _) = pristine();
    let first = files.keys().find(|n| n.ends_with(".seg")).unwrap().clone();
    let mut damaged = files.clone();
    damaged.remove(&first);
    damaged.remove(&first.replace(".seg", ".idx"));
    match Store::open_with(dir(), mem_options(&restore(&damaged))) {
        Err(e) => assert!(e.is_corruption(), "{e:?}"),
        Ok(store) => {
            let first_seq = store.read_from(1).next().map(|e| e.unwrap().seq());
            let report = store.verify().unwrap();
            assert!(
                first_seq == Some(1) || !report.is_clean() || !store.open_report().is_clean(),
                "events 1..{:?} vanished without a word: {:?}",
                first_seq,
                store.open_report()
            );
        }
    }
}

// ---- zeroed records -------------------------------------------------------------------

/// A record of the active segment zeroed (a block the disk lost, or zeroed after a
/// file-system bug) with valid records after it is damage followed by valid data,
/// like a flipped bit: `Corrupt` naming the file and the record under the default
/// recovery mode, never a silent cut of the synced records that follow (FORMAT.md
/// §2, recovery rule 3). `SalvagePrefix` cuts there and reports it.
#[test]
fn a_zeroed_record_followed_by_valid_records_is_corrupt() {
    let (files, _, originals, _) = pristine();
    let active = files.keys().rfind(|n| n.ends_with(".seg")).unwrap().clone();
    let path = dir().join(&active);
    let recs = records(&files[&active]);
    let mut cases = 0;
    for rec in &recs[..recs.len() - 1] {
        for (what, end) in [("header", rec.start + 64), ("record", rec.end)] {
            let mut damaged = files.clone();
            damaged.get_mut(&active).unwrap()[rec.start..end].fill(0);
            let what = format!("{what} of seq {} zeroed", rec.seq);
            match Store::open_with(dir(), mem_options(&restore(&damaged))) {
                Err(Error::Corrupt { file, offset, .. }) => {
                    assert_eq!((file, offset), (path.clone(), rec.start as u64), "{what}");
                }
                Ok(store) => panic!(
                    "{what}: opened with seqs {}..={} cut: {:?}",
                    rec.batch_first_seq,
                    originals.len(),
                    store.open_report().tail_repair
                ),
                Err(e) => panic!("{what}: {e:?}"),
            }
            let salvage = mem_options(&restore(&damaged)).recovery(RecoveryMode::SalvagePrefix);
            let store = Store::open_with(dir(), salvage).unwrap();
            assert_eq!(store.last_seq(), rec.batch_first_seq - 1, "{what}");
            assert!(store.open_report().tail_repair.is_some(), "{what}");
            cases += 1;
        }
    }
    assert!(cases >= 8);
}
