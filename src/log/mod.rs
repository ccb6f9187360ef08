//! The log: the ordered set of segments, sequence numbers, rolling, durability and
//! group commit. It frames nothing and decodes nothing: callers hand it a
//! [`Batch`] of framed records; the only thing it reads of a body is the event
//! name it starts with, to keep the name dictionary of its index files.
//!
//! Concurrency: one writer mutex serialises sequence assignment and the positional
//! write of a batch (the critical section holds no encoding work). Readers never
//! take it: they load an immutable snapshot of the segment list and the published
//! sequence number, and read records below each segment's published end.

mod append;
mod batch;
mod commit;
mod durability;
mod hidden;
mod lifecycle;
mod open;
mod space;

pub(crate) use space::min_segment_bytes;
mod sync;
mod tail;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex, RwLock};

pub(crate) use batch::Batch;
pub use durability::Durability;
use durability::{Stopper, SyncState};
pub(crate) use hidden::{Hidden, HiddenProfile};
pub use open::OpenReport;

use crate::error::{Error, Result};
use crate::index::{NameDictionary, SegmentIndex};
use crate::io::Vfs;
use crate::record::{RecordProblem, RecordView};
use crate::segment::{RecoveryMode, Segment, SegmentView};
use crate::time::Clock;

/// A segment and its index.
pub(crate) struct SegmentHandle {
    pub segment: Segment,
    pub index: RwLock<SegmentIndex>,
}

impl SegmentHandle {
    /// The offset and sequence number of the first record with a sequence number
    /// of at least `seq`, found through the index (no scan).
    pub(crate) fn locate(&self, seq: u64) -> Option<(usize, u64)> {
        self.index.read().locate(seq)
    }
}

/// Log settings (validated by the store's options).
#[derive(Clone, Debug)]
pub(crate) struct LogConfig {
    pub segment_bytes: u64,
    /// The smallest segment started on a short disk: room for the largest
    /// record (never more than `segment_bytes`).
    pub min_segment_bytes: u64,
    pub durability: Durability,
    pub recovery: RecoveryMode,
    /// False for a read-only open: nothing is written, appends are refused.
    pub writable: bool,
    /// The lowest sequence number the store holds (the catalog's log start).
    pub log_start: u64,
    /// When segments are created and sealed.
    pub clock: Arc<dyn Clock>,
}

/// What readers see: the segments, the last published sequence number, the log
/// start, and the events hidden by pending erasures.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub segments: Arc<Vec<Arc<SegmentHandle>>>,
    pub visible_seq: u64,
    pub log_start: u64,
    pub hidden: Arc<Hidden>,
}

/// A record found by sequence number, with the view that keeps its bytes mapped.
pub(crate) struct FoundRecord {
    pub view: SegmentView,
    pub offset: usize,
    pub path: PathBuf,
}

impl FoundRecord {
    /// The CRC-checked record.
    pub(crate) fn record(&self) -> Result<RecordView<'_>> {
        self.view
            .record_at(self.offset)
            .map_err(|p: RecordProblem| {
                Error::corrupt(&self.path, self.offset as u64, p.describe())
            })
    }
}

struct Writer {
    active: Arc<SegmentHandle>,
    next_seq: u64,
}

/// The sequence numbers an append was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Appended {
    pub first_seq: u64,
    pub last_seq: u64,
}

pub(crate) struct Log {
    fs: Arc<dyn Vfs>,
    dir: PathBuf,
    store_id: [u8; 16],
    config: LogConfig,
    segments: RwLock<Arc<Vec<Arc<SegmentHandle>>>>,
    writer: Mutex<Writer>,
    visible: AtomicU64,
    log_start: AtomicU64,
    /// Files of segments below the log start that a deletion failed to unlink:
    /// the next one (every maintenance pass) retries them.
    unlink_pending: Mutex<Vec<PathBuf>>,
    hidden: RwLock<Arc<Hidden>>,
    names: Arc<NameDictionary>,
    sync: SyncState,
    poisoned: AtomicBool,
    poison_cause: Mutex<Option<String>>,
    closed: AtomicBool,
    tail_lock: Mutex<()>,
    tail_cv: Condvar,
    tail_waiters: AtomicUsize,
    commit: commit::CommitQueue,
    stopper: Arc<Stopper>,
    syncer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Log {
    /// The directory of the log.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file system.
    pub(crate) fn fs(&self) -> &Arc<dyn Vfs> {
        &self.fs
    }

    /// The last published sequence number (0 when empty).
    pub(crate) fn visible_seq(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }

    /// The highest durable sequence number.
    pub(crate) fn synced_seq(&self) -> u64 {
        self.sync.synced()
    }

    /// The name dictionary of the log's index files.
    pub(crate) fn names(&self) -> &NameDictionary {
        &self.names
    }

    /// What readers see now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        // Load the sequence number first: every segment holding a record up to it
        // is already in the list loaded next.
        let visible_seq = self.visible_seq();
        let hidden = self.hidden.read().clone();
        let segments = self.segments.read().clone();
        Snapshot {
            segments,
            visible_seq,
            log_start: self.log_start(),
            hidden,
        }
    }

    /// The lowest sequence number the log holds.
    pub(crate) fn log_start(&self) -> u64 {
        self.log_start.load(Ordering::Acquire)
    }

    /// The time, from the store's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    /// The record with sequence number `seq`, if it is published and belongs to
    /// `source` (found through the segment list and the index, no scan).
    pub(crate) fn record_at(&self, seq: u64, source: u32) -> Result<Option<FoundRecord>> {
        let snapshot = self.snapshot();
        if seq == 0 || seq > snapshot.visible_seq {
            return Ok(None);
        }
        let segments = &snapshot.segments;
        let at = segments
            .partition_point(|h| h.segment.first_seq() <= seq)
            .checked_sub(1);
        let Some(handle) = at.and_then(|i| segments.get(i)) else {
            return Ok(None);
        };
        let Some(entry) = handle.index.read().entry(source, seq) else {
            return Ok(None);
        };
        Ok(Some(FoundRecord {
            view: handle.segment.view()?,
            offset: entry.offset as usize,
            path: handle.segment.path().to_path_buf(),
        }))
    }

    /// The error an append would get now, if any.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if !self.config.writable {
            return Err(Error::ReadOnly);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(self.poison_error());
        }
        Ok(())
    }

    fn poison_error(&self) -> Error {
        let cause = self.poison_cause.lock().clone().unwrap_or_default();
        Error::Poisoned { cause }
    }

    /// Refuses every later write: called after any failed write or sync.
    fn poison(&self, error: &Error) {
        let mut cause = self.poison_cause.lock();
        if cause.is_none() {
            *cause = Some(error.to_string());
        }
        self.poisoned.store(true, Ordering::Release);
        drop(cause);
        self.sync.done.notify_all();
    }

    /// Poisons after a failure of the storage itself (I/O, damage); a refusal
    /// before anything was written (`TooLarge`) or a log that already refuses
    /// writes leaves it as it is.
    pub(crate) fn poison_on_storage_failure(&self, error: &Error) {
        if error.kind().is_storage_failure() {
            self.poison(error);
        }
    }

    /// True after a failed write or sync.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Syncs, trims the active segment's reserved space, and refuses later writes.
    pub(crate) fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.stop_interval_sync();
        self.wake_all_tailers();
        if self.is_poisoned() {
            return Err(self.poison_error());
        }
        if !self.config.writable {
            return Ok(());
        }
        let writer = self.writer.lock();
        let active = &writer.active.segment;
        // A sealed active segment (the disk was full) keeps its trailer.
        let result = active.sync().and_then(|()| {
            if active.is_sealed() {
                Ok(())
            } else {
                active.trim()
            }
        });
        if let Err(e) = &result {
            self.poison(e);
        } else {
            self.sync.mark(writer.next_seq - 1);
        }
        result
    }

    /// True once closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if !self.is_closed() {
            let _ = self.close();
        }
    }
}
