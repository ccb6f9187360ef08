//! A read-only open works beside a live writer: it sees a consistent snapshot of
//! committed events, writes nothing, repairs nothing on disk, and refuses changes.

use crate::support::store::event;
use firstlog::{Error, Options, Store};

fn listing(dir: &std::path::Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_reader_beside_a_live_writer_sees_a_snapshot_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open_with(dir.path(), Options::default().segment_bytes(64 << 10)).unwrap();
    let source = writer.create_source("Web App").unwrap();
    for i in 0..1500 {
        writer.collect(event(source.write_key(), i)).unwrap();
    }
    assert!(writer.stats().sealed_segments > 0);

    let before = listing(dir.path());
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.last_seq(), 1500);
    assert_eq!(reader.query(source.id()).count().unwrap(), 1500);
    let seqs: Vec<u64> = reader.read_from(1).map(|e| e.unwrap().seq()).collect();
    assert_eq!(seqs, (1..=1500).collect::<Vec<_>>());
    assert!(reader.verify().unwrap().is_clean());

    // The writer goes on; the reader keeps its snapshot, a new reader sees more.
    for i in 1500..1600 {
        writer.collect(event(source.write_key(), i)).unwrap();
    }
    assert_eq!(reader.query(source.id()).count().unwrap(), 1500);
    let fresh = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(fresh.query(source.id()).count().unwrap(), 1600);
    let last = fresh
        .query(source.id())
        .descending()
        .limit(1)
        .iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        last.properties().get("i").and_then(|v| v.as_i64()),
        Some(1599)
    );

    // Every change is refused.
    assert!(matches!(
        reader.collect(event(source.write_key(), 0)),
        Err(Error::ReadOnly)
    ));
    assert!(matches!(reader.collect_json(b"{}"), Err(Error::ReadOnly)));
    assert!(matches!(reader.create_source("x"), Err(Error::ReadOnly)));
    assert!(matches!(
        reader.rotate_write_key(source.id()),
        Err(Error::ReadOnly)
    ));
    assert!(matches!(reader.roll(), Err(Error::ReadOnly)));
    reader.sync().unwrap();
    reader.close().unwrap();
    drop(reader);
    drop(fresh);
    // Nothing the readers did changed a file (the writer only appended).
    let after_segments: Vec<_> = listing(dir.path())
        .into_iter()
        .filter(|(n, _)| n.ends_with(".idx"))
        .collect();
    let before_segments: Vec<_> = before
        .into_iter()
        .filter(|(n, _)| n.ends_with(".idx"))
        .collect();
    assert_eq!(after_segments, before_segments);
    writer.close().unwrap();
}

#[test]
fn a_reader_rebuilds_a_missing_index_in_memory_only() {
    let dir = tempfile::tempdir().unwrap();
    let source;
    {
        let store =
            Store::open_with(dir.path(), Options::default().segment_bytes(64 << 10)).unwrap();
        source = store.create_source("iOS App").unwrap();
        for i in 0..1200 {
            store.collect(event(source.write_key(), i)).unwrap();
        }
        store.close().unwrap();
    }
    let idx = listing(dir.path())
        .into_iter()
        .find(|(n, _)| n.ends_with(".idx"))
        .unwrap()
        .0;
    std::fs::remove_file(dir.path().join(&idx)).unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.open_report().rebuilt_indexes.len(), 1);
    assert_eq!(reader.query(source.id()).count().unwrap(), 1200);
    assert_eq!(
        reader.query(source.id()).profile("user-3").count().unwrap(),
        (0..1200).filter(|i| i % 5 == 3).count() as u64
    );
    assert!(
        !dir.path().join(&idx).exists(),
        "a reader must not write files"
    );
    drop(reader);
    // The next writer repairs it.
    let writer = Store::open(dir.path()).unwrap();
    assert_eq!(writer.open_report().rebuilt_indexes.len(), 1);
    assert!(dir.path().join(&idx).exists());
}

#[test]
fn read_only_open_of_a_missing_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    assert!(matches!(
        Store::open_read_only(&missing),
        Err(Error::NotAStore { .. })
    ));
    assert!(!missing.exists());
}
