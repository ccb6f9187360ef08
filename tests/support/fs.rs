//! A file system for tests that watch the engine's syncs: [`HookedFs`] is a
//! `MemFs` whose every file `sync_data`, directory sync, rename and remove goes through
//! [`Hooks`], so a test can hold a sync at a gate, count syncs, or snapshot what
//! each sync made durable.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use firstlog::testing::{FileMap, LockGuard, MemFs, OpenMode, VFile, Vfs};

/// What a test does around file operations. Every method defaults to doing
/// nothing more than the operation.
pub trait Hooks: Send + Sync + 'static {
    /// Runs the fdatasync of `path` (by calling `sync`), with whatever the test
    /// does before and after.
    fn sync(&self, path: &Path, sync: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        let _ = path;
        sync()
    }
    /// Runs the fsync of the directory `dir` (by calling `sync`).
    fn sync_dir(&self, dir: &Path, sync: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        let _ = dir;
        sync()
    }
    /// `from` was renamed to `to`.
    fn renamed(&self, _from: &Path, _to: &Path) {}
    /// `path` was removed.
    fn removed(&self, _path: &Path) {}
}

/// A `MemFs` whose syncs, renames and removes go through `H`.
pub struct HookedFs<H> {
    /// The files.
    pub mem: MemFs,
    /// The hooks.
    pub hooks: Arc<H>,
}

impl<H> Clone for HookedFs<H> {
    fn clone(&self) -> Self {
        HookedFs {
            mem: self.mem.clone(),
            hooks: self.hooks.clone(),
        }
    }
}

impl<H: Hooks> HookedFs<H> {
    /// `mem` with `hooks`.
    pub fn new(mem: MemFs, hooks: H) -> Self {
        HookedFs {
            mem,
            hooks: Arc::new(hooks),
        }
    }
}

impl<H: Hooks> Vfs for HookedFs<H> {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.mem.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.mem.list(dir)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VFile>> {
        Ok(Arc::new(HookedFile {
            inner: self.mem.open(path, mode)?,
            path: path.to_path_buf(),
            hooks: self.hooks.clone(),
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.mem.rename(from, to)?;
        self.hooks.renamed(from, to);
        Ok(())
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.mem.remove(path)?;
        self.hooks.removed(path);
        Ok(())
    }
    fn exists(&self, path: &Path) -> bool {
        self.mem.exists(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.hooks.sync_dir(dir, &|| self.mem.sync_dir(dir))
    }
    fn try_lock(&self, dir: &Path) -> io::Result<Option<LockGuard>> {
        self.mem.try_lock(dir)
    }
}

struct HookedFile<H> {
    inner: Arc<dyn VFile>,
    path: PathBuf,
    hooks: Arc<H>,
}

impl<H: Hooks> VFile for HookedFile<H> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.inner.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_all_at(buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.hooks.sync(&self.path, &|| self.inner.sync_data())
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

/// Hooks that hold segment fdatasyncs at a gate while it is closed, and count
/// them (group-commit tests: who waits for whose sync).
#[derive(Default)]
pub struct SyncGate {
    closed: std::sync::Mutex<bool>,
    changed: std::sync::Condvar,
    /// Segment fdatasyncs started.
    pub syncs: std::sync::atomic::AtomicUsize,
    /// fdatasyncs held at the gate now.
    pub waiting: std::sync::atomic::AtomicUsize,
}

impl SyncGate {
    fn pass(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.syncs.fetch_add(1, SeqCst);
        let mut closed = self.closed.lock().expect("gate");
        self.waiting.fetch_add(1, SeqCst);
        while *closed {
            closed = self.changed.wait(closed).expect("gate");
        }
        self.waiting.fetch_sub(1, SeqCst);
    }

    /// Closes (holds every segment fdatasync) or opens the gate.
    pub fn set(&self, closed: bool) {
        *self.closed.lock().expect("gate") = closed;
        self.changed.notify_all();
    }
}

impl Hooks for SyncGate {
    fn sync(&self, path: &Path, sync: &dyn Fn() -> io::Result<()>) -> io::Result<()> {
        if path.extension().is_some_and(|e| e == "seg") {
            self.pass();
        }
        sync()
    }
}
