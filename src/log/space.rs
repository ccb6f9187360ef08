//! Segments on a disk short of space: a new segment is created smaller when
//! the configured size does not fit (never smaller than the largest record or
//! the batch waiting for it), and when none fits the log keeps its sealed last
//! segment as the active one and refuses appends with [`Error::DiskFull`]
//! (never poisoned: nothing of that batch was written) until a later append,
//! or a readiness check, finds room to start one.

use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;

use super::{Log, SegmentHandle, Writer};
use crate::error::{Error, Result};
use crate::index::{ActiveIndex, SegmentIndex};
use crate::io::Vfs;
use crate::segment::Segment;

/// The smallest segment a log starts when space is short (or the configured
/// size, if smaller; or more, to hold the largest record).
const MIN_SEGMENT_BYTES: u64 = 256 << 10;

/// The smallest segment to start on a short disk, for segments of
/// `segment_bytes` and records of at most `record_max` bytes.
pub(crate) fn min_segment_bytes(segment_bytes: u64, record_max: u64) -> u64 {
    MIN_SEGMENT_BYTES
        .max(Segment::capacity_for(record_max))
        .min(segment_bytes)
}

/// What a new segment is made of.
pub(super) struct NewSegment<'a> {
    pub fs: &'a dyn Vfs,
    pub dir: &'a Path,
    pub first_seq: u64,
    /// The configured size.
    pub capacity: u64,
    /// The smallest size that will do.
    pub floor: u64,
    pub store_id: [u8; 16],
    pub now_ms: i64,
}

impl NewSegment<'_> {
    /// Creates the segment at its configured size or, when the disk has no
    /// room for it, at the largest of a half, a quarter, ... that fits, down to
    /// `floor`; [`Error::DiskFull`] when none does.
    pub(super) fn create_fitting(&self) -> Result<Segment> {
        let floor = self.floor.min(self.capacity);
        let mut capacity = self.capacity;
        loop {
            match Segment::create(
                self.fs,
                self.dir,
                self.first_seq,
                capacity,
                self.store_id,
                self.now_ms,
            ) {
                Err(e) if e.is_out_of_space() => {
                    if capacity <= floor {
                        return Err(Error::DiskFull {
                            dir: self.dir.to_path_buf(),
                            needed: floor,
                        });
                    }
                    capacity = (capacity / 2).max(floor);
                }
                other => return other,
            }
        }
    }
}

impl Log {
    /// Starts a new active segment at the writer's next sequence number, with
    /// room for `pending` bytes of records (the batch about to be written, so
    /// that a batch that fits a segment is never split by a short disk).
    pub(super) fn start_segment(&self, writer: &mut Writer, pending: u64) -> Result<()> {
        let needed = Segment::capacity_for(pending);
        let floor = if needed <= self.config.segment_bytes {
            needed.max(self.config.min_segment_bytes)
        } else {
            self.config.min_segment_bytes
        };
        let segment = NewSegment {
            fs: &*self.fs,
            dir: &self.dir,
            first_seq: writer.next_seq,
            capacity: self.config.segment_bytes,
            floor,
            store_id: self.store_id,
            now_ms: self.now_ms(),
        }
        .create_fitting()?;
        let handle = Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(SegmentIndex::Active(ActiveIndex::new())),
        });
        self.push_segment(handle.clone());
        writer.active = handle;
        Ok(())
    }

    /// The error an append would get now, as last seen: like
    /// [`Log::readiness`] but without trying again to start a segment (no
    /// file is touched), for statistics.
    pub(crate) fn last_write_state(&self) -> Result<()> {
        self.check_writable()?;
        if self.writer.lock().active.segment.is_sealed() {
            return Err(Error::DiskFull {
                dir: self.dir.clone(),
                needed: self.config.min_segment_bytes,
            });
        }
        Ok(())
    }

    /// The error an append would get now, if any; when the disk was full,
    /// first tries again to start a segment (so this is how writes resume
    /// without an append, and how a readiness check sees space freed).
    pub(crate) fn readiness(&self) -> Result<()> {
        self.check_writable()?;
        let mut writer = self.writer.lock();
        self.check_writable()?;
        if writer.active.segment.is_sealed() {
            self.start_segment(&mut writer, 0)
                .inspect_err(|e| self.poison_on_storage_failure(e))?;
        }
        Ok(())
    }
}
