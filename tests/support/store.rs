//! Stores for tests: the options most tests start from, a [`Disk`] that runs one
//! test body on the real file system and in memory, and the standard events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use firstlog::testing::{MemFs, OpenMode, RealFs, Vfs};
use firstlog::{Durability, NewEvent, Options, Source, Store};

/// The segment size of most tests: small, so that tests roll often and MemFs
/// holds little.
pub const SMALL_SEGMENT: u64 = 64 << 10;
/// The timestamp of test event 0 (2023-11-14T22:13:20Z).
pub const T0: i64 = 1_700_000_000_000;

/// Small segments, buffered durability, maintenance only when the test asks:
/// what most tests start from.
pub fn options() -> Options {
    Options::default()
        .segment_bytes(SMALL_SEGMENT)
        .durability(Durability::Buffered)
        .background_maintenance(false)
}

/// [`options`] on the given in-memory file system.
pub fn mem_options(fs: &MemFs) -> Options {
    options().fs(Arc::new(fs.clone()))
}

/// A store on a fresh in-memory file system, with `options` (its file system
/// replaced).
pub fn mem_store(options: Options) -> Store {
    Store::open_with("/mem", options.fs(Arc::new(MemFs::new()))).expect("open in-memory store")
}

/// A temporary directory and the store path inside it (not created yet).
pub fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    (dir, path)
}

/// Creates sources with these names.
pub fn sources(store: &Store, names: &[&str]) -> Vec<Source> {
    names
        .iter()
        .map(|n| store.create_source(n).expect("create source"))
        .collect()
}

/// The event names of [`event`], in turn.
pub const NAMES: [&str; 3] = ["Page Viewed", "Button Clicked", "Form Submitted"];

/// Test event `i` for `key`: its name (`NAMES[i % 3]`), profile
/// (`user-{i % 5}`), timestamp (`T0 + i` seconds) and properties (`i`, `ratio`
/// = i / 7, an odd-length `title`, so records end in padding) are functions of
/// `i` alone.
pub fn event(key: &str, i: u64) -> NewEvent {
    NewEvent::new(NAMES[(i % 3) as usize], key)
        .profile(format!("user-{}", i % 5))
        .timestamp_ms(T0 + i as i64 * 1000)
        .property("i", i)
        .property("ratio", i as f64 / 7.0)
        .property("title", "x".repeat(13 + (i % 4) as usize))
}

/// Where a test's store lives: the same test body runs on both.
pub enum Disk {
    /// The operating system's file system, in a temporary directory.
    Real(tempfile::TempDir),
    /// The in-memory file system.
    Mem(MemFs),
}

impl Disk {
    /// Both disks, real first.
    pub fn both() -> [Disk; 2] {
        [
            Disk::Real(tempfile::tempdir().expect("tempdir")),
            Disk::Mem(MemFs::new()),
        ]
    }

    /// "real" or "memory", for assertion messages.
    pub fn name(&self) -> &'static str {
        match self {
            Disk::Real(_) => "real",
            Disk::Mem(_) => "memory",
        }
    }

    /// The store directory.
    pub fn path(&self) -> PathBuf {
        match self {
            Disk::Real(dir) => dir.path().join("store"),
            Disk::Mem(_) => PathBuf::from("/mem/store"),
        }
    }

    /// The file system.
    pub fn fs(&self) -> Arc<dyn Vfs> {
        match self {
            Disk::Real(_) => Arc::new(RealFs),
            Disk::Mem(fs) => Arc::new(fs.clone()),
        }
    }

    /// `options` on this disk.
    pub fn options(&self, options: Options) -> Options {
        options.fs(self.fs())
    }

    /// Opens the store with `options` on this disk.
    pub fn open(&self, options: Options) -> Store {
        Store::open_with(self.path(), self.options(options))
            .unwrap_or_else(|e| panic!("open on the {} disk: {e}", self.name()))
    }

    /// The names of the files in the store directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names = self.fs().list(&self.path()).expect("list the store");
        names.sort();
        names
    }

    /// The bytes of a file of the store.
    pub fn read(&self, name: &str) -> Vec<u8> {
        let path = self.path().join(name);
        self.fs()
            .open(&path, OpenMode::ReadOnly)
            .and_then(|f| f.read_all())
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Replaces the bytes of a file of the store (the store must be closed).
    pub fn write(&self, name: &str, bytes: &[u8]) {
        let path: &Path = &self.path().join(name);
        let file = self
            .fs()
            .open(path, OpenMode::CreateTruncate)
            .expect("open for writing");
        file.write_all_at(bytes, 0).expect("write");
        file.sync_data().expect("sync");
    }
}

/// A store in memory with sources of these names; their (id, write key).
pub fn mem_store_with_sources(names: &[&str]) -> (Store, Vec<(u32, String)>) {
    let store = mem_store(options());
    let ids = sources(&store, names)
        .iter()
        .map(|s| (s.id().0, s.write_key().to_owned()))
        .collect();
    (store, ids)
}

/// The stored event with sequence number `seq`.
pub fn event_at(store: &Store, seq: u64) -> firstlog::Event {
    let e = store
        .read_from(seq)
        .next()
        .unwrap_or_else(|| panic!("no event {seq}"))
        .unwrap_or_else(|e| panic!("event {seq}: {e}"));
    assert_eq!(e.seq(), seq);
    e
}

/// Asserts that [`Store::verify`] names a problem in `file` at byte `offset`.
pub fn assert_verify_reports(store: &Store, file: &Path, offset: u64, context: &str) {
    let report = store.verify().expect("verify");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.file == file && p.offset == offset),
        "{context}: verify must name {} at byte {offset}: {:?}",
        file.display(),
        report.problems
    );
}

/// Every event the store shows, as JSON, by sequence number.
pub fn events_json(store: &Store) -> std::collections::BTreeMap<u64, String> {
    store
        .read_from(0)
        .map(|e| {
            let e = e.expect("read");
            (e.seq(), e.to_json())
        })
        .collect()
}
