//! Under `Durability::Sync`, appenders that arrive while an fdatasync runs are
//! committed together by ONE following fdatasync (group commit), and each returns
//! only after the sync that covers it.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use firstlog::testing::{FileMap, LockGuard, MemFs, OpenMode, VFile, Vfs};
use firstlog::{Durability, NewEvent, Options, Store};

/// A file system whose segment fdatasyncs can be held at a gate, and counted.
#[derive(Clone)]
struct GatedFs {
    inner: MemFs,
    gate: Arc<Gate>,
}

#[derive(Default)]
struct Gate {
    closed: Mutex<bool>,
    changed: Condvar,
    syncs: AtomicUsize,
    waiting: AtomicUsize,
}

impl Gate {
    fn pass(&self) {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        let mut closed = self.closed.lock().unwrap();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        while *closed {
            closed = self.changed.wait(closed).unwrap();
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
    fn set(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.changed.notify_all();
    }
}

struct GatedFile {
    inner: Arc<dyn VFile>,
    gate: Option<Arc<Gate>>,
}

impl Vfs for GatedFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VFile>> {
        let is_segment = path.extension().is_some_and(|e| e == "seg");
        Ok(Arc::new(GatedFile {
            inner: self.inner.open(path, mode)?,
            gate: is_segment.then(|| self.gate.clone()),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn try_lock(&self, dir: &Path) -> io::Result<Option<LockGuard>> {
        self.inner.try_lock(dir)
    }
}

impl VFile for GatedFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        if let Some(gate) = &self.gate {
            gate.pass();
        }
        self.inner.sync_data()
    }
    fn allocate(&self, len: u64) -> io::Result<()> {
        self.inner.allocate(len)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn map(&self, len: u64) -> io::Result<FileMap> {
        self.inner.map(len)
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting until {what}");
}

#[test]
fn appenders_arriving_during_a_sync_share_the_next_one() {
    let fs = GatedFs {
        inner: MemFs::new(),
        gate: Arc::new(Gate::default()),
    };
    let gate = fs.gate.clone();
    let options = Options::default()
        .segment_bytes(1 << 20)
        .durability(Durability::Sync)
        .fs(Arc::new(fs));
    let store = Store::open_with("/store", options).unwrap();
    let key = store
        .create_source("Web App")
        .unwrap()
        .write_key()
        .to_owned();
    let syncs_before = gate.syncs.load(Ordering::SeqCst);

    gate.set(true);
    let acked = Arc::new(AtomicUsize::new(0));
    let first = {
        let (store, key, acked) = (store.clone(), key.clone(), acked.clone());
        std::thread::spawn(move || {
            let r = store.collect(NewEvent::new("Page Viewed", key)).unwrap();
            acked.fetch_add(1, Ordering::SeqCst);
            r.seq
        })
    };
    // The first appender leads a sync and is held at the gate.
    wait_until("the first sync is at the gate", || {
        gate.waiting.load(Ordering::SeqCst) == 1
    });
    let others: Vec<_> = (0..5)
        .map(|i| {
            let (store, key, acked) = (store.clone(), key.clone(), acked.clone());
            std::thread::spawn(move || {
                let r = store
                    .collect(NewEvent::new("Button Clicked", key).property("i", i))
                    .unwrap();
                acked.fetch_add(1, Ordering::SeqCst);
                r.seq
            })
        })
        .collect();
    // Give the five time to queue up; none may return before a sync covers it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        acked.load(Ordering::SeqCst),
        0,
        "an append returned before its sync"
    );
    assert_eq!(gate.syncs.load(Ordering::SeqCst), syncs_before + 1);
    gate.set(false);
    assert_eq!(first.join().unwrap(), Some(1));
    let mut seqs: Vec<u64> = others
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![2, 3, 4, 5, 6]);
    // One sync for the first appender, ONE more for the five that queued behind it.
    assert_eq!(gate.syncs.load(Ordering::SeqCst), syncs_before + 2);
    assert_eq!(store.stats().synced_seq, 6);
}
