//! A file system that fails on purpose.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{LockGuard, Map, OpenMode, VFile, Vfs};

/// When [`FaultyFs`] fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// The 1-based number of the operation that fails; `None` never fails.
    pub fail_at: Option<u64>,
    /// Whether every operation after `fail_at` fails too (a dead disk) or only that
    /// one (a transient error).
    pub forever: bool,
}

/// Wraps a [`Vfs`], counts its operations and fails the one a [`FaultPlan`] names.
///
/// Every call on the file system or on a file opened through it counts as one
/// operation, except [`Vfs::exists`].
#[derive(Clone)]
pub struct FaultyFs {
    inner: Arc<dyn Vfs>,
    shared: Arc<Shared>,
}

struct Shared {
    ops: AtomicU64,
    plan: Mutex<FaultPlan>,
}

impl Shared {
    fn tick(&self, what: &str) -> io::Result<()> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst) + 1;
        let plan = *self.plan.lock();
        match plan.fail_at {
            Some(at) if n == at || (plan.forever && n > at) => Err(io::Error::other(format!(
                "injected fault at operation {n} ({what})"
            ))),
            _ => Ok(()),
        }
    }
}

impl FaultyFs {
    /// Wraps `inner`, with no failure planned.
    pub fn new(inner: impl Vfs) -> Self {
        FaultyFs {
            inner: Arc::new(inner),
            shared: Arc::new(Shared {
                ops: AtomicU64::new(0),
                plan: Mutex::new(FaultPlan::default()),
            }),
        }
    }

    /// Sets the plan; operation numbers keep counting from where they are.
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.shared.plan.lock() = plan;
    }

    /// How many operations have been performed so far.
    pub fn ops(&self) -> u64 {
        self.shared.ops.load(Ordering::SeqCst)
    }
}

impl Vfs for FaultyFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.shared.tick("create_dir_all")?;
        self.inner.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.shared.tick("list")?;
        self.inner.list(dir)
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VFile>> {
        self.shared.tick("open")?;
        Ok(Arc::new(FaultyFile {
            inner: self.inner.open(path, mode)?,
            shared: self.shared.clone(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.shared.tick("rename")?;
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.shared.tick("remove")?;
        self.inner.remove(path)
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.shared.tick("sync_dir")?;
        self.inner.sync_dir(dir)
    }

    fn free_space(&self, dir: &Path) -> io::Result<Option<u64>> {
        self.inner.free_space(dir)
    }

    fn try_lock(&self, dir: &Path) -> io::Result<Option<LockGuard>> {
        self.shared.tick("try_lock")?;
        self.inner.try_lock(dir)
    }
}

struct FaultyFile {
    inner: Arc<dyn VFile>,
    shared: Arc<Shared>,
}

impl VFile for FaultyFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.shared.tick("read_at")?;
        self.inner.read_exact_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.shared.tick("write_at")?;
        self.inner.write_all_at(buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.shared.tick("sync")?;
        self.inner.sync_data()
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        self.shared.tick("allocate")?;
        self.inner.allocate(len)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.shared.tick("set_len")?;
        self.inner.set_len(len)
    }

    fn len(&self) -> io::Result<u64> {
        self.shared.tick("len")?;
        self.inner.len()
    }

    fn map(&self, len: u64) -> io::Result<Map> {
        self.shared.tick("map")?;
        self.inner.map(len)
    }
}
