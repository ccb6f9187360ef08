//! The file-operation seam.
//!
//! Every file operation the engine performs (create, positional write and read,
//! fdatasync, allocation, truncation, rename, remove, directory sync, locking, and
//! read-only mapping) goes through the [`Vfs`] and [`VFile`] traits. Three
//! implementations exist:
//!
//! - [`RealFs`]: the operating system (std, `fallocate` through rustix, mmap through
//!   memmap2). This is what [`Store::open`](crate::Store::open) uses.
//! - [`MemFs`]: files in memory, with a crash simulator that keeps what was synced
//!   and, for what was not, keeps it, drops it, tears it at a 512-byte boundary or
//!   fills it with garbage (after SQLite's crash VFS).
//! - [`FaultyFs`]: wraps another `Vfs` and fails the Nth operation, once or forever.
//!
//! Tests use the last two to prove that failures surface as errors and that nothing
//! acknowledged is lost; applications only ever need `RealFs`.

// The `pub` items here are the file seam that `firstlog::testing` exposes to the
// test suite and the fuzz targets; without that feature they are crate-internal.
#![cfg_attr(not(feature = "testing"), allow(unreachable_pub))]

mod atomic;
#[cfg(any(test, feature = "testing"))]
mod faulty;
mod map;
#[cfg(any(test, feature = "testing"))]
mod memory;
mod real;

use std::any::Any;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub(crate) use atomic::{temp_path, write_atomic};
#[cfg(any(test, feature = "testing"))]
pub use faulty::{FaultPlan, FaultyFs};
pub use map::Map;
#[cfg(any(test, feature = "testing"))]
pub use memory::{CrashMode, MemFs};
pub use real::RealFs;

/// How [`Vfs::open`] treats an existing or missing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a new file; fail if it exists.
    CreateNew,
    /// Create the file, or truncate it to zero length if it exists.
    CreateTruncate,
    /// Open an existing file for reading and writing.
    ReadWrite,
    /// Open an existing file for reading only.
    ReadOnly,
}

/// A held directory lock; dropping it releases the lock.
pub type LockGuard = Box<dyn Any + Send + Sync>;

/// A file system, as far as firstlog needs one.
pub trait Vfs: Send + Sync + 'static {
    /// Creates a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the files directly inside `dir` (not sorted).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens a file.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VFile>>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// True when a file exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes the exclusive lock of `dir`; `Ok(None)` when someone else holds it.
    fn try_lock(&self, dir: &Path) -> io::Result<Option<LockGuard>>;
    /// The bytes free for files in `dir`'s file system, when known.
    fn free_space(&self, dir: &Path) -> io::Result<Option<u64>> {
        let _ = dir;
        Ok(None)
    }
}

/// An open file.
#[allow(
    clippy::len_without_is_empty,
    reason = "a file length is a size, not a collection"
)]
pub trait VFile: Send + Sync {
    /// Fills `buf` from `offset`; an error if the file is shorter.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes written data durable (fdatasync).
    fn sync_data(&self) -> io::Result<()>;
    /// Reserves space so that writes below `len` cannot fail for lack of space, and
    /// extends the file to at least `len` (the new bytes read as zeros).
    fn allocate(&self, len: u64) -> io::Result<()>;
    /// Truncates or extends the file to `len`.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// The current file length.
    fn len(&self) -> io::Result<u64>;
    /// A read-only view of bytes `[0, len)`; `len` must not exceed the file length.
    fn map(&self, len: u64) -> io::Result<Map>;

    /// Reads the whole file into memory.
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len()?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
        let mut buf = vec![0; len];
        self.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    }
}
