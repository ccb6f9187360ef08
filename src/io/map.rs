//! Read-only views of files: the only place firstlog uses `unsafe`.
//!
//! # Safety model
//!
//! A [`Map`] of a real file is a shared, read-only memory map. Reading a map is
//! sound as long as the bytes read do not change while they are read, and the file
//! is not shrunk below them (which would raise SIGBUS). firstlog guarantees both:
//!
//! - the store directory is locked by exactly one writer (the [`Vfs::try_lock`]
//!   lock), so no other firstlog process changes the files;
//! - segment files are append-only: the writer only writes bytes beyond the
//!   *published* length, and readers only read below it ([`Map::prefix`] takes that
//!   length); bytes below it are never written again;
//! - a segment is only truncated to its published length (when sealed or closed),
//!   never below; recovery truncates before any reader of this process exists,
//!   and only bytes that are not complete, valid batches;
//! - a read-only opener ([`Store::open_read_only`](crate::Store::open_read_only))
//!   takes no lock but reads only complete, CRC-valid batches it found when it
//!   opened: the writer never changes or truncates those bytes (the rules above),
//!   so they stay valid for it too.
//!
//! Editing a store's files with another program while it is open breaks these
//! assumptions, as it does for every memory-mapped database.
//!
//! [`Vfs::try_lock`]: super::Vfs::try_lock

#![allow(unsafe_code)]

use std::fs::File;
use std::io;

/// A read-only view of the first bytes of a file.
pub struct Map {
    inner: Inner,
}

enum Inner {
    Empty,
    Mmap(memmap2::Mmap),
    Heap(Box<[u8]>),
}

impl Map {
    /// An empty view.
    pub fn empty() -> Map {
        Map {
            inner: Inner::Empty,
        }
    }

    /// Maps the first `len` bytes of `file`.
    pub(crate) fn of_file(file: &File, len: u64) -> io::Result<Map> {
        if len == 0 {
            return Ok(Map::empty());
        }
        let len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "map too large"))?;
        // SAFETY: the map is read-only and private to this process's readers. The
        // module docs state why the bytes that are read never change and are never
        // truncated away while mapped: single locked writer, append-only files,
        // readers bounded by the published length, truncation never below it.
        let mmap = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
        Ok(Map {
            inner: Inner::Mmap(mmap),
        })
    }

    /// A view of bytes copied to the heap (the in-memory file system).
    pub(crate) fn of_bytes(bytes: Box<[u8]>) -> Map {
        Map {
            inner: Inner::Heap(bytes),
        }
    }

    /// The number of bytes this view covers.
    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Empty => 0,
            Inner::Mmap(m) => m.len(),
            Inner::Heap(b) => b.len(),
        }
    }

    /// True when the view covers no bytes.
    #[cfg(any(test, feature = "testing"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when later writes to the file show through this view (a memory map);
    /// false for a heap copy, which must be re-taken to see them.
    pub fn is_live(&self) -> bool {
        matches!(self.inner, Inner::Mmap(_))
    }

    /// The first `min(len, self.len())` bytes. Callers pass the published length,
    /// below which the bytes never change.
    pub fn prefix(&self, len: usize) -> &[u8] {
        match &self.inner {
            Inner::Empty => &[],
            Inner::Heap(b) => &b[..len.min(b.len())],
            Inner::Mmap(m) => {
                let len = len.min(m.len());
                // SAFETY: `m.as_ptr()` is valid for `m.len()` bytes for the life of
                // `m`, which outlives the returned slice (it borrows `self`), and
                // `len <= m.len()`. The slice covers only published bytes, which no
                // one writes again (module docs), so creating a shared reference to
                // them does not alias any write. We never create a reference to the
                // unpublished tail, which the writer may be filling through pwrite.
                unsafe { std::slice::from_raw_parts(m.as_ptr(), len) }
            }
        }
    }
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("len", &self.len())
            .field("live", &self.is_live())
            .finish()
    }
}
