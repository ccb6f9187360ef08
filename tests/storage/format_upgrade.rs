//! A store written by version 1 (the fixture `tests/fixtures/v1`) opens with
//! this version: the writer upgrades it in place, every event reads back exactly
//! as version 1 rendered it, and the sources, policies and quarantine survive; a
//! reader refuses it until then with a clear error; the damaged fixture fails with
//! the damaged file and offset and is left as it was; and an upgrade interrupted
//! at any I/O operation (a dead disk, then a power loss) is finished by the next
//! open with nothing lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::support::store::{options, temp};
use firstlog::testing::{CrashMode, FaultPlan, FaultyFs, MemFs, OpenMode, Vfs};
use firstlog::{Error, NamingPolicy, NewEvent, SourceId, Store};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixture's files, name and bytes.
fn fixture_files(name: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture(name).join("store"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A copy of a fixture store in a temporary directory.
fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, dir) = temp();
    std::fs::create_dir_all(&dir).unwrap();
    for (file, bytes) in fixture_files(name) {
        std::fs::write(dir.join(file), bytes).unwrap();
    }
    (tmp, dir)
}

/// The events as version 1 rendered them.
fn expected() -> Vec<String> {
    std::fs::read_to_string(fixture("v1/expected.ndjson"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every event of the store, rendered as JSON.
fn rendered(store: &Store) -> Vec<String> {
    store.read_from(1).map(|e| e.unwrap().to_json()).collect()
}

#[test]
fn a_version_1_store_is_upgraded_and_reads_back_the_same() {
    let (_tmp, dir) = copy_fixture("v1");
    let store = Store::open(&dir).unwrap();
    let report = store.open_report().clone();
    assert_eq!(report.upgraded_files.len(), 3, "{report:?}");
    assert_eq!(rendered(&store), expected());
    assert_eq!(store.last_seq(), 600);

    let sources = store.sources();
    let names: Vec<&str> = sources.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        ["www Marketing Page", "Help Desk (support)", "iOS App"]
    );
    assert!(!sources[2].is_enabled());
    assert_eq!(sources[2].naming_policy(), Some(NamingPolicy::Enforce));
    assert_eq!(store.rejected(10).len(), 2);
    // Queries and counts work from the new index files.
    assert_eq!(store.query(SourceId(1)).count().unwrap(), 200);
    assert_eq!(
        store.query(SourceId(2)).profile("user-1").count().unwrap(),
        store
            .read_from(1)
            .filter(|e| {
                let e = e.as_ref().unwrap();
                e.source() == SourceId(2) && e.profile_id() == Some("user-1")
            })
            .count() as u64
    );
    assert!(store.verify().unwrap().is_clean());

    // The upgraded store takes new events after the old ones.
    let key = sources[0].write_key().to_owned();
    let r = store.collect(NewEvent::new("Page Viewed", &key)).unwrap();
    assert_eq!(r.seq, Some(601));
    store.close().unwrap();
    drop(store);

    // The next open finds nothing to upgrade or repair.
    let store = Store::open(&dir).unwrap();
    assert!(store.open_report().is_clean(), "{:?}", store.open_report());
    let mut all = expected();
    all.push(store.read_from(601).next().unwrap().unwrap().to_json());
    assert_eq!(rendered(&store), all);
}

#[test]
fn a_reader_asks_for_the_upgrade() {
    let (_tmp, dir) = copy_fixture("v1");
    let before = std::fs::read(dir.join("00000000000000000001.seg")).unwrap();
    let refused = Store::open_read_only(&dir).unwrap_err();
    assert!(
        matches!(refused, Error::UpgradeNeeded { found: 1, .. }),
        "{refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("open the store for writing once")
    );
    assert_eq!(
        std::fs::read(dir.join("00000000000000000001.seg")).unwrap(),
        before,
        "a reader writes nothing"
    );
}

#[test]
fn the_damaged_version_1_store_fails_clearly_and_is_left_as_it_was() {
    let (_tmp, dir) = copy_fixture("v1-damaged");
    let refused = Store::open(&dir).unwrap_err();
    match &refused {
        Error::Corrupt { file, offset, .. } => {
            assert_eq!(file, &dir.join("00000000000000000001.seg"));
            assert_eq!(*offset, 368, "the record whose byte was flipped");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    for (name, bytes) in fixture_files("v1-damaged") {
        if name == "LOCK" {
            continue;
        }
        assert_eq!(
            std::fs::read(dir.join(&name)).unwrap(),
            bytes,
            "{name} changed"
        );
    }
}

/// The fixture on an in-memory disk, everything synced.
fn fixture_on(fs: &MemFs) {
    let dir = Path::new("/v1");
    fs.create_dir_all(dir).unwrap();
    for (name, bytes) in fixture_files("v1") {
        let file = fs.open(&dir.join(name), OpenMode::CreateNew).unwrap();
        file.write_all_at(&bytes, 0).unwrap();
        file.sync_data().unwrap();
    }
    fs.sync_dir(dir).unwrap();
}

#[test]
fn an_upgrade_interrupted_at_any_operation_is_finished_by_the_next_open() {
    let expected = expected();
    let mut n = 1;
    loop {
        let mem = MemFs::new();
        fixture_on(&mem);
        let faulty = FaultyFs::new(mem.clone());
        faulty.set_plan(FaultPlan {
            fail_at: Some(n),
            forever: true,
        });
        let opened = Store::open_with("/v1", options().fs(Arc::new(faulty.clone())));
        let hit = faulty.ops() >= n;
        if let Err(e) = &opened {
            assert!(hit, "op {n}: failed without a fault: {e}");
        }
        drop(opened);
        // The disk died at operation n; then the power went out.
        let after = mem.crash(CrashMode::Chaos, n);
        let store = Store::open_with("/v1", options().fs(Arc::new(after)))
            .unwrap_or_else(|e| panic!("op {n}: reopen after the interrupted upgrade: {e}"));
        assert_eq!(rendered(&store), expected, "op {n}");
        assert!(store.verify().unwrap().is_clean(), "op {n}");
        if !hit {
            break;
        }
        n += 1;
        assert!(n < 500, "the upgrade never completes");
    }
}
