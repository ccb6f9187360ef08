//! The index is derivable from the segments: a sealed segment's `.idx` file that is
//! deleted, has a flipped byte (anywhere: a sweep over a whole file), is truncated,
//! carries an unknown version, belongs to another segment, or has bytes appended, is
//! rebuilt on open and listed in `open_report().rebuilt_indexes` with a reason;
//! every query and count then gives the same answer as before, `verify()` is clean,
//! and the next open finds nothing to repair. A stale index file of the active
//! segment is removed and reported.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::support::store::options;
use firstlog::testing::{CrashMode, MemFs};
use firstlog::{Bucket, NewEvent, Source, Store};

const NAMES: [&str; 4] = [
    "Page Viewed",
    "Button Clicked",
    "Form Submitted",
    "Ticket Closed",
];

fn event(sources: &[Source], i: u64) -> NewEvent {
    let source = &sources[(i % 7 % 3) as usize];
    NewEvent::new(NAMES[(i % 4) as usize], source.write_key())
        .profile(format!("user-{}", i % 13))
        .message_id(format!("m-{i}"))
        .timestamp_ms(1_700_000_000_000 + (i as i64 % 500) * 600_000)
        .property("i", i)
        .property("pad", "y".repeat((i % 90) as usize))
}

/// Writes `n` events (rolling every `roll_every`), closes; returns the sources.
fn write_store(store: &Store, n: u64, roll_every: u64) -> Vec<Source> {
    let sources: Vec<Source> = ["www", "Help Desk", "Web App"]
        .iter()
        .map(|name| store.create_source(name).unwrap())
        .collect();
    for i in 0..n {
        if i > 0 && i.is_multiple_of(roll_every) {
            store.roll().unwrap();
        }
        store.collect(event(&sources, i)).unwrap();
    }
    sources
}

/// Every kind of answer the index gives, as text.
fn answers(store: &Store) -> String {
    let mut out = String::new();
    for source in store.sources() {
        let id = source.id();
        let seqs: Vec<u64> = store.query(id).iter().map(|e| e.unwrap().seq()).collect();
        let json: Vec<String> = store
            .query(id)
            .name("Form Submitted")
            .descending()
            .limit(20)
            .iter()
            .map(|e| e.unwrap().to_json())
            .collect();
        let q = store.query(id).since(1_700_000_000_000 + 100 * 600_000);
        out += &format!(
            "{id}: {seqs:?}\n{json:?}\n{} {} {}\n{:?}\n{:?}\n{:?}\n{}\n",
            store.query(id).count().unwrap(),
            store.query(id).profile("user-3").count().unwrap(),
            q.count().unwrap(),
            q.count_by_name().unwrap(),
            q.count_by_bucket(Bucket::Hour).unwrap(),
            q.count_by_bucket(Bucket::Day).unwrap(),
            q.distinct_profiles().unwrap(),
        );
    }
    let stats = store.stats();
    out += &format!(
        "{:?}\n",
        (stats.events, stats.bytes, stats.segments, stats.sources)
    );
    out
}

fn idx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Damages a copy of the store with `damage`, reopens it, and checks the rebuild.
fn check_rebuild(
    base: &Path,
    expected: &str,
    what: &str,
    damage: impl FnOnce(&Path, &[PathBuf]) -> Vec<PathBuf>,
    reason_has: &str,
) {
    let work = tempfile::tempdir().unwrap();
    copy_dir(base, work.path());
    let damaged = damage(work.path(), &idx_files(work.path()));
    let store = Store::open_with(work.path(), options())
        .unwrap_or_else(|e| panic!("{what}: open failed: {e}"));
    let report = store.open_report().clone();
    let rebuilt: Vec<&PathBuf> = report.rebuilt_indexes.iter().map(|(p, _)| p).collect();
    assert_eq!(
        rebuilt,
        damaged.iter().collect::<Vec<_>>(),
        "{what}: {report:?}"
    );
    for (path, reason) in &report.rebuilt_indexes {
        assert!(
            reason.contains(reason_has),
            "{what}: {} rebuilt because {reason:?}, expected {reason_has:?}",
            path.display()
        );
    }
    assert!(report.tail_repair.is_none(), "{what}");
    assert_eq!(answers(&store), expected, "{what}: answers changed");
    let verify = store.verify().unwrap();
    assert!(verify.is_clean(), "{what}: {:?}", verify.problems);
    assert_eq!(verify.index_files, idx_files(work.path()).len(), "{what}");
    drop(store);
    let store = Store::open_with(work.path(), options()).unwrap();
    assert!(
        store.open_report().is_clean(),
        "{what}: second open {:?}",
        store.open_report()
    );
    assert_eq!(answers(&store), expected, "{what}: after the second open");
}

/// Rewrites the CRCs of an index file (header CRC over 0..60, file CRC before the
/// 4-byte footer magic), so that only the field changed on purpose is wrong.
fn fix_crcs(b: &mut [u8]) {
    let crc = crc32fast::hash(&b[..60]);
    b[60..64].copy_from_slice(&crc.to_le_bytes());
    let body_end = b.len() - 8;
    let crc = crc32fast::hash(&b[..body_end]);
    b[body_end..body_end + 4].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn damaged_or_missing_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let store = Store::open_with(dir.path(), options()).unwrap();
        write_store(&store, 1500, 400);
        let answers = answers(&store);
        store.close().unwrap();
        answers
    };
    let idx = idx_files(dir.path());
    assert!(idx.len() >= 3, "{idx:?}");
    {
        let store = Store::open_with(dir.path(), options()).unwrap();
        assert!(store.open_report().is_clean());
        assert_eq!(answers(&store), expected, "a clean reopen answers the same");
    }

    check_rebuild(
        dir.path(),
        &expected,
        "one deleted",
        |_, idx| {
            fs::remove_file(&idx[1]).unwrap();
            vec![idx[1].clone()]
        },
        "missing",
    );
    check_rebuild(
        dir.path(),
        &expected,
        "all deleted",
        |_, idx| {
            idx.iter().for_each(|p| fs::remove_file(p).unwrap());
            idx.to_vec()
        },
        "missing",
    );
    for at in [0usize, 9, 20, 70, 200, 1000] {
        check_rebuild(
            dir.path(),
            &expected,
            &format!("byte {at} flipped"),
            |_, idx| {
                let mut b = fs::read(&idx[0]).unwrap();
                b[at] ^= 0x04;
                fs::write(&idx[0], b).unwrap();
                vec![idx[0].clone()]
            },
            "",
        );
    }
    check_rebuild(
        dir.path(),
        &expected,
        "last byte flipped",
        |_, idx| {
            let mut b = fs::read(&idx[2]).unwrap();
            let last = b.len() - 1;
            b[last] ^= 0x80;
            fs::write(&idx[2], b).unwrap();
            vec![idx[2].clone()]
        },
        "",
    );
    for keep in [0u64, 10, 64, 1000] {
        check_rebuild(
            dir.path(),
            &expected,
            &format!("truncated to {keep}"),
            |_, idx| {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&idx[1])
                    .unwrap()
                    .set_len(keep)
                    .unwrap();
                vec![idx[1].clone()]
            },
            "",
        );
    }
    check_rebuild(
        dir.path(),
        &expected,
        "one byte short",
        |_, idx| {
            let len = fs::metadata(&idx[0]).unwrap().len();
            fs::OpenOptions::new()
                .write(true)
                .open(&idx[0])
                .unwrap()
                .set_len(len - 1)
                .unwrap();
            vec![idx[0].clone()]
        },
        "",
    );
    check_rebuild(
        dir.path(),
        &expected,
        "bytes appended",
        |_, idx| {
            let mut b = fs::read(&idx[0]).unwrap();
            b.extend_from_slice(&[0; 8]);
            fs::write(&idx[0], b).unwrap();
            vec![idx[0].clone()]
        },
        "",
    );
    check_rebuild(
        dir.path(),
        &expected,
        "unknown version",
        |_, idx| {
            let mut b = fs::read(&idx[1]).unwrap();
            b[8..12].copy_from_slice(&99u32.to_le_bytes());
            fix_crcs(&mut b);
            fs::write(&idx[1], b).unwrap();
            vec![idx[1].clone()]
        },
        "version",
    );
    check_rebuild(
        dir.path(),
        &expected,
        "another segment's index",
        |_, idx| {
            fs::copy(&idx[0], &idx[1]).unwrap();
            vec![idx[1].clone()]
        },
        "does not match",
    );
    check_rebuild(
        dir.path(),
        &expected,
        "record count changed, CRCs fixed",
        |_, idx| {
            // Well-formed (both CRCs valid) but disagreeing with its segment's trailer.
            let mut b = fs::read(&idx[2]).unwrap();
            let count = u64::from_le_bytes(b[32..40].try_into().unwrap());
            b[32..40].copy_from_slice(&(count + 1).to_le_bytes());
            fix_crcs(&mut b);
            fs::write(&idx[2], b).unwrap();
            vec![idx[2].clone()]
        },
        "does not match",
    );
}

#[test]
fn stale_index_of_the_active_segment_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let store = Store::open_with(dir.path(), options()).unwrap();
        write_store(&store, 300, 200);
        let answers = answers(&store);
        store.close().unwrap();
        answers
    };
    let idx = idx_files(dir.path());
    assert_eq!(idx.len(), 1);
    // An index file named after the active segment (first seq 201).
    let stale = dir.path().join(format!("{:020}.idx", 201));
    fs::copy(&idx[0], &stale).unwrap();
    let store = Store::open_with(dir.path(), options()).unwrap();
    assert_eq!(store.open_report().removed_files, vec![stale.clone()]);
    assert!(!stale.exists());
    assert_eq!(answers(&store), expected);
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn a_flipped_byte_anywhere_in_an_index_file_is_rebuilt() {
    // A small index on the in-memory file system, every byte of it.
    let mem = MemFs::new();
    let opts = |fs: &MemFs| options().fs(Arc::new(fs.clone()));
    let expected = {
        let store = Store::open_with("/idx", opts(&mem)).unwrap();
        write_store(&store, 30, 12);
        let answers = answers(&store);
        store.close().unwrap();
        answers
    };
    let path = PathBuf::from(format!("/idx/{:020}.idx", 13));
    let original = mem.read(&path).expect("index of the second segment");
    assert!(original.len() > 500, "{}", original.len());
    for at in 0..original.len() {
        let fs = mem.crash(CrashMode::KeepAll, 0);
        let mut b = original.clone();
        b[at] ^= 1 << (at % 8);
        fs.write(&path, b);
        let store = Store::open_with("/idx", opts(&fs)).unwrap();
        let rebuilt = &store.open_report().rebuilt_indexes;
        assert_eq!(rebuilt.len(), 1, "byte {at}: {rebuilt:?}");
        assert_eq!(rebuilt[0].0, path, "byte {at}");
        assert_eq!(answers(&store), expected, "byte {at}");
        assert_eq!(
            fs.read(&path).unwrap(),
            original,
            "byte {at}: rebuilt byte for byte"
        );
        assert!(store.verify().unwrap().is_clean(), "byte {at}");
    }
}
